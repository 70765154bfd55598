//! Admin: users and their roles.

use crate::components::common::{ActionOutcome, ErrorBox, Loading, RoleSelect, Timestamp};
use crate::components::guard::AdminOnly;
use crate::error::AppError;
use crate::server_fns::access::{
    list_users, CreateUser, DeleteUser, ResetUserPassword, SetUserDisabled, SetUserRole,
};
use coastguard_model::{Role, UserView};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    // Made here, outside <AdminOnly>'s <Suspense> (see components::risk).
    let create = ServerAction::<CreateUser>::new();
    let actions = Actions {
        set_role: ServerAction::new(),
        set_disabled: ServerAction::new(),
        reset: ServerAction::new(),
        delete: ServerAction::new(),
    };
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                actions.set_role.version().get(),
                actions.set_disabled.version().get(),
                actions.delete.version().get(),
            )
        },
        |_| list_users(),
    );
    view! {
        <Title text="Users" />
        <AdminOnly>
            <UsersAdmin create actions users />
        </AdminOnly>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    set_role: ServerAction<SetUserRole>,
    set_disabled: ServerAction<SetUserDisabled>,
    reset: ServerAction<ResetUserPassword>,
    delete: ServerAction<DeleteUser>,
}

#[component]
fn UsersAdmin(
    create: ServerAction<CreateUser>,
    actions: Actions,
    users: Resource<Result<Vec<UserView>, AppError>>,
) -> impl IntoView {
    view! {
        <h1>"Users"</h1>
        <section class="panel">
            <h2>"Add a user"</h2>
            <ActionForm action=create attr:class="form-row">
                <label>"User name" <input name="name" required autocomplete="off" /></label>
                <label>"Role" <RoleSelect name="role" selected=Role::Viewer /></label>
                <label>
                    "Initial password"
                    <input name="password" type="password" minlength="12" required autocomplete="new-password" />
                </label>
                <button class="btn btn-primary" type="submit">"Add user"</button>
            </ActionForm>
            <ActionOutcome value=create.value() ok="User added." />
            <p class="muted small">
                "Viewers read everything; analysts also triage (accept risks, upload scans); admins also manage users, tokens and sources."
            </p>
        </section>
        <section class="panel">
            <ActionOutcome value=actions.set_role.value() ok="Role changed." />
            <ActionOutcome value=actions.set_disabled.value() ok="Saved." />
            <ActionOutcome value=actions.reset.value() ok="Password set; the user's sessions ended." />
            <ActionOutcome value=actions.delete.value() ok="User deleted." />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => view! { <UserTable users=list actions=actions /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn UserTable(users: Vec<UserView>, actions: Actions) -> impl IntoView {
    let rows = users
        .into_iter()
        .map(|u| {
            let id = u.id.to_string();
            let (id_role, id_disable, id_reset, id_delete) = (id.clone(), id.clone(), id.clone(), id);
            let reset_label = format!("New password for {}", u.name);
            let delete_label = format!("Delete user {}", u.name);
            view! {
                <tr class:disabled-row=u.disabled>
                    <td><strong>{u.name.clone()}</strong></td>
                    <td>
                        <ActionForm action=actions.set_role attr:class="inline-form">
                            <input type="hidden" name="id" value=id_role />
                            <RoleSelect name="role" selected=u.role />
                            <button class="btn btn-small" type="submit">"Set role"</button>
                        </ActionForm>
                    </td>
                    <td>{if u.disabled { "disabled" } else { "active" }}</td>
                    <td><Timestamp at=u.last_login_at /></td>
                    <td><Timestamp at=Some(u.created_at) /></td>
                    <td class="actions">
                        <ActionForm action=actions.set_disabled attr:class="inline-form">
                            <input type="hidden" name="id" value=id_disable />
                            <input type="hidden" name="disabled" value=(!u.disabled).to_string() />
                            <button class="btn btn-small" type="submit">
                                {if u.disabled { "Enable" } else { "Disable" }}
                            </button>
                        </ActionForm>
                        <details class="inline-details">
                            <summary class="btn btn-small">"Set password"</summary>
                            <ActionForm action=actions.reset attr:class="inline-form">
                                <input type="hidden" name="id" value=id_reset />
                                <input name="password" type="password" minlength="12" required autocomplete="new-password"
                                    aria-label=reset_label />
                                <button class="btn btn-small" type="submit">"Save"</button>
                            </ActionForm>
                        </details>
                        <ActionForm action=actions.delete attr:class="inline-form">
                            <input type="hidden" name="id" value=id_delete />
                            <button class="btn btn-small btn-danger" type="submit"
                                aria-label=delete_label>"Delete"</button>
                        </ActionForm>
                    </td>
                </tr>
            }.into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"User"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Last login"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

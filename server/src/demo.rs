//! `coastguard demo load | serve | remove`: the demo estate in a database of its own.
//! The configured database (`--database-url`, `COASTGUARD_DATABASE_URL`) is never
//! touched: the demo lives at `--demo-db`, by default `sqlite://<data_dir>/demo.db`.

use crate::startup;
use anyhow::{bail, Context};
use coastguard_core::db::{redact_url, Backend, Db};
use coastguard_core::demo::{self, Holds};
use coastguard_core::{AppState, Settings, Store};

/// The demo's database: the one given, else `demo.db` in the data directory.
pub fn url(settings: &Settings, given: Option<String>) -> String {
    given.unwrap_or_else(|| format!("sqlite://{}", settings.data_dir.join("demo.db").display()))
}

/// (Re)creates the demo estate at `url` and prints how to use it.
pub async fn load(settings: Settings, url: &str) -> anyhow::Result<()> {
    let shown = redact_url(url);
    let db = Db::connect(url).await?;
    match demo::examine(&db).await? {
        Holds::Nothing => {}
        Holds::Demo(_) => {
            db.drop_all_tables()
                .await
                .with_context(|| format!("{shown}: removing the previous demo estate"))?;
        }
        Holds::Other(what) => bail!(
            "{shown} holds {what}: the demo estate loads only into an empty database of its own \
             (choose another with --demo-db)"
        ),
    }
    db.migrate()
        .await
        .with_context(|| format!("database {shown}: migrations failed"))?;
    let (password, generated) = match &settings.admin_password {
        Some(p) => (p.clone(), false),
        None => (coastguard_core::auth::password::generate(), true),
    };
    let mut state = AppState::new(Store::new(db.clone()), settings);
    state.demo = true;
    let started = std::time::Instant::now();
    let loaded = demo::load(&state, &password, coastguard_core::now()).await?;
    db.close().await;
    println!(
        "Loaded the demo estate into {shown} in {:.1} s: {} hosts, {} images, {} containers, \
         {} scans over {} days. Everything in it is invented.",
        started.elapsed().as_secs_f64(),
        loaded.hosts,
        loaded.images,
        loaded.containers,
        loaded.scans,
        loaded.days
    );
    if generated {
        println!(
            "Log in as 'admin' (or '{}', analyst, or '{}', viewer) with password: {password}",
            demo::ANALYST,
            demo::VIEWER
        );
    } else {
        println!(
            "Log in as 'admin' (or '{}', analyst, or '{}', viewer) with the password from COASTGUARD_ADMIN_PASSWORD.",
            demo::ANALYST,
            demo::VIEWER
        );
    }
    println!("Serve it with `coastguard demo serve`; delete it with `coastguard demo remove`.");
    Ok(())
}

/// Serves the demo estate (demo mode: a banner on every page, no collector).
pub async fn serve(mut settings: Settings, url: &str) -> anyhow::Result<()> {
    let shown = redact_url(url);
    if Backend::of_url(url)? == Backend::Sqlite && !sqlite_path(url).exists() {
        bail!("no demo estate at {shown}: create it with `coastguard demo load`");
    }
    let db = Db::connect(url).await?;
    let holds = demo::examine(&db).await?;
    db.close().await;
    match holds {
        Holds::Demo(_) => {}
        Holds::Nothing => bail!("no demo estate at {shown}: create it with `coastguard demo load`"),
        Holds::Other(what) => bail!("{shown} holds {what}, not the demo estate"),
    }
    settings.database_url = Some(url.to_string());
    startup::serve(settings).await
}

/// Deletes the demo estate: the SQLite file, or every table of a Postgres database
/// that holds it. Anything that is not the demo's is refused.
pub async fn remove(url: &str) -> anyhow::Result<()> {
    let shown = redact_url(url);
    let sqlite = Backend::of_url(url)? == Backend::Sqlite;
    if sqlite && !sqlite_path(url).exists() {
        println!("No demo estate at {shown}: nothing to remove.");
        return Ok(());
    }
    let db = Db::connect(url).await?;
    match demo::examine(&db).await? {
        Holds::Demo(_) => {}
        Holds::Nothing => {
            db.close().await;
            println!("No demo estate at {shown}: nothing to remove.");
            return Ok(());
        }
        Holds::Other(what) => bail!("{shown} holds {what}, not the demo estate: not removed"),
    }
    if sqlite {
        db.close().await;
        let path = sqlite_path(url);
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", file.display())),
            }
        }
    } else {
        db.drop_all_tables()
            .await
            .with_context(|| format!("{shown}: dropping the demo's tables"))?;
        db.close().await;
    }
    println!("Removed the demo estate from {shown}.");
    Ok(())
}

/// The file of a `sqlite://PATH` (or `sqlite:PATH`) URL, without its query.
fn sqlite_path(url: &str) -> std::path::PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    std::path::PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://data/demo.db"),
            std::path::PathBuf::from("data/demo.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/d.db?mode=rwc"),
            std::path::PathBuf::from("/tmp/d.db")
        );
        assert_eq!(sqlite_path("sqlite:x.db"), std::path::PathBuf::from("x.db"));
    }

    #[test]
    fn the_demo_never_uses_the_configured_database() {
        let settings = Settings {
            database_url: Some("postgres://cg@db/prod".into()),
            data_dir: "/srv/cg".into(),
            ..Settings::default()
        };
        assert_eq!(url(&settings, None), "sqlite:///srv/cg/demo.db");
        assert_eq!(
            url(&settings, Some("postgres://cg@db/demo".into())),
            "postgres://cg@db/demo"
        );
    }
}

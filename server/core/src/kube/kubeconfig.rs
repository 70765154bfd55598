//! Uploaded kubeconfigs are data, never programs: each context becomes a cluster, with
//! only inline credentials. `exec` and `auth-provider` entries (which run commands or
//! plugins on the Coastguard server), file references (which would read its files) and
//! settings that turn TLS checks off are refused with a message naming the entry.

use ::kube::config::{Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};

/// The most contexts one upload may add.
pub const MAX_CONTEXTS: usize = 50;
/// The largest kubeconfig accepted, in bytes.
pub const MAX_BYTES: usize = 256 * 1024;

/// One context of an upload, ready to store: its connection as a single-context
/// kubeconfig (JSON, to be sealed), and what may be shown.
#[derive(Debug)]
pub struct Connection {
    pub context: String,
    pub server: String,
    /// A kubeconfig holding only this context, its cluster and its user (secret).
    pub kubeconfig_json: Vec<u8>,
}

/// Reads `text` and returns one connection per context (or only `only`, when given).
pub fn connections(text: &str, only: Option<&str>) -> Result<Vec<Connection>, String> {
    if text.len() > MAX_BYTES {
        return Err(format!("a kubeconfig is at most {} KiB", MAX_BYTES / 1024));
    }
    let config = Kubeconfig::from_yaml(text)
        .map_err(|e| format!("not a kubeconfig: {}", first_line(&e.to_string())))?;
    let contexts: Vec<&NamedContext> = config
        .contexts
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.name))
        .collect();
    if contexts.is_empty() {
        return Err(match only {
            Some(name) => format!("the kubeconfig has no context named {name:?}"),
            None => "the kubeconfig has no contexts".into(),
        });
    }
    if contexts.len() > MAX_CONTEXTS {
        return Err(format!(
            "the kubeconfig has {} contexts; add at most {MAX_CONTEXTS} at once (name one)",
            contexts.len()
        ));
    }
    contexts
        .into_iter()
        .map(|ctx| connection(&config, ctx))
        .collect()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn connection(config: &Kubeconfig, ctx: &NamedContext) -> Result<Connection, String> {
    let name = &ctx.name;
    let context = ctx
        .context
        .as_ref()
        .ok_or_else(|| format!("context {name:?} is empty"))?;
    let cluster: &NamedCluster = config
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .ok_or_else(|| {
            format!(
                "context {name:?} names cluster {:?}, which the kubeconfig does not define",
                context.cluster
            )
        })?;
    let user_name = context
        .user
        .as_deref()
        .ok_or_else(|| format!("context {name:?} names no user"))?;
    let user: &NamedAuthInfo = config
        .auth_infos
        .iter()
        .find(|u| u.name == user_name)
        .ok_or_else(|| {
            format!(
                "context {name:?} names user {user_name:?}, which the kubeconfig does not define"
            )
        })?;

    let c = cluster
        .cluster
        .as_ref()
        .ok_or_else(|| format!("cluster {:?} is empty", cluster.name))?;
    let server = c
        .server
        .clone()
        .ok_or_else(|| format!("cluster {:?} has no server", cluster.name))?;
    let url = url::Url::parse(&server).map_err(|e| {
        format!(
            "cluster {:?}: server {server:?} is not a URL: {e}",
            cluster.name
        )
    })?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "cluster {:?}: the server must be an https:// URL",
            cluster.name
        ));
    }
    let refuse = |what: &str, why: &str| Err(format!("context {name:?}: {what} is refused: {why}"));
    if c.certificate_authority.is_some() {
        return refuse(
            "certificate-authority (a file path)",
            "Coastguard does not read its own files for an upload; give certificate-authority-data",
        );
    }
    if c.insecure_skip_tls_verify == Some(true) {
        return refuse(
            "insecure-skip-tls-verify",
            "the cluster's certificate must be checked; give certificate-authority-data",
        );
    }
    let Some(auth) = user.auth_info.as_ref() else {
        return Err(format!("user {user_name:?} has no credentials"));
    };
    if auth.exec.is_some() {
        return refuse(
            "an exec credential plugin",
            "it would run a command on the Coastguard server; use a service account token (see deploy/kubernetes/)",
        );
    }
    if auth.auth_provider.is_some() {
        return refuse(
            "an auth-provider",
            "it runs provider code on the Coastguard server; use a service account token",
        );
    }
    for (field, set) in [
        ("tokenFile", auth.token_file.is_some()),
        (
            "client-certificate (a file path)",
            auth.client_certificate.is_some(),
        ),
        ("client-key (a file path)", auth.client_key.is_some()),
    ] {
        if set {
            return refuse(
                field,
                "Coastguard does not read its own files for an upload; give the value inline (token, client-certificate-data, client-key-data)",
            );
        }
    }
    if auth.username.is_some() || auth.password.is_some() {
        return refuse(
            "basic authentication (username/password)",
            "Kubernetes removed it in v1.19; use a service account token",
        );
    }
    let has_token = auth.token.is_some();
    let has_cert = auth.client_certificate_data.is_some() && auth.client_key_data.is_some();
    if !has_token && !has_cert {
        return Err(format!(
            "user {user_name:?} has neither a token nor client-certificate-data with client-key-data"
        ));
    }

    let mut single = Kubeconfig {
        clusters: vec![cluster.clone()],
        auth_infos: vec![user.clone()],
        contexts: vec![ctx.clone()],
        current_context: Some(name.clone()),
        ..Kubeconfig::default()
    };
    single.preferences = None;
    let kubeconfig_json = serde_json::to_vec(&single).map_err(|e| e.to_string())?;
    Ok(Connection {
        context: name.clone(),
        server,
        kubeconfig_json,
    })
}

/// A client configuration from a stored single-context kubeconfig.
pub async fn client_config(kubeconfig_json: &[u8]) -> Result<::kube::Config, String> {
    let config: Kubeconfig =
        serde_json::from_slice(kubeconfig_json).map_err(|e| format!("stored connection: {e}"))?;
    let mut cfg = ::kube::Config::from_custom_kubeconfig(config, &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    cfg.connect_timeout = Some(std::time::Duration::from_secs(10));
    cfg.read_timeout = Some(std::time::Duration::from_secs(300));
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(user: &str, cluster_extra: &str) -> String {
        format!(
            r#"
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
{cluster_extra}
- name: dev
  cluster: {{server: "http://127.0.0.1:8001"}}
users:
- name: reader
  user:
{user}
- name: dev-user
  user: {{token: dev-token}}
contexts:
- name: prod-ctx
  context: {{cluster: prod, user: reader}}
- name: dev-ctx
  context: {{cluster: dev, user: dev-user}}
current-context: prod-ctx
"#
        )
    }

    #[test]
    fn each_context_becomes_a_connection_with_only_its_own_credentials() {
        let text = kubeconfig("    token: s3cr3t-token", "");
        let all = connections(&text, None).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].context, "prod-ctx");
        assert_eq!(all[0].server, "https://10.0.0.1:6443");
        let stored = String::from_utf8(all[0].kubeconfig_json.clone()).unwrap();
        assert!(stored.contains("s3cr3t-token"));
        assert!(
            !stored.contains("dev-token"),
            "another context's secret leaked in"
        );
        // Debug never shows a token (kube keeps it a SecretString).
        let parsed: Kubeconfig = serde_json::from_slice(&all[0].kubeconfig_json).unwrap();
        assert!(!format!("{parsed:?}").contains("s3cr3t-token"));

        let one = connections(&text, Some("dev-ctx")).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].server, "http://127.0.0.1:8001");
        assert!(connections(&text, Some("nope"))
            .unwrap_err()
            .contains("no context named"));
    }

    #[test]
    fn programs_and_file_references_are_refused_by_name() {
        let cases = [
            (
                "    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}",
                "",
                "exec credential plugin",
            ),
            ("    auth-provider: {name: gcp}", "", "auth-provider"),
            ("    tokenFile: /var/run/secrets/token", "", "tokenFile"),
            (
                "    client-certificate: /etc/cert.pem\n    client-key-data: a2V5",
                "",
                "client-certificate (a file path)",
            ),
            (
                "    client-certificate-data: Y2VydA==\n    client-key: /etc/key.pem",
                "",
                "client-key (a file path)",
            ),
            (
                "    username: admin\n    password: hunter2",
                "",
                "basic authentication",
            ),
            (
                "    token: t",
                "    certificate-authority: /etc/ca.pem",
                "certificate-authority (a file path)",
            ),
            (
                "    token: t",
                "    insecure-skip-tls-verify: true",
                "insecure-skip-tls-verify",
            ),
        ];
        for (user, cluster, refused) in cases {
            let text = kubeconfig(user, cluster);
            let e = connections(&text, Some("prod-ctx")).unwrap_err();
            assert!(
                e.contains(refused) && e.contains("refused"),
                "{refused}: {e}"
            );
            assert!(e.contains("prod-ctx"), "{e}");
        }
        let e = connections(&kubeconfig("    as: someone", ""), Some("prod-ctx")).unwrap_err();
        assert!(e.contains("neither a token"), "{e}");
        assert!(connections("not: [a kubeconfig", None)
            .unwrap_err()
            .starts_with("not a kubeconfig"));
        assert!(connections("apiVersion: v1\nkind: Config\n", None)
            .unwrap_err()
            .contains("no contexts"));
    }
}

//! One attempt to deliver a message: a POST of its stored body, signed when the webhook
//! has a secret, bounded by the webhook's timeout, redirects not followed (an address
//! that moves is an error to fix, not a place to send alerts).

use std::sync::OnceLock;
use std::time::Duration;

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The answer's status, when one came.
    pub status: Option<u16>,
    /// Why it did not succeed (`None`: a 2xx answer).
    pub error: Option<String>,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .use_preconfigured_tls(crate::registry::client::tls(None)?)
                .connect_timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("coastguard/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Posts `body` to `url`; `delivery` and `event` go in headers so a receiver can drop a
/// message it has had already.
pub async fn post(
    url: &str,
    secret: Option<&[u8]>,
    delivery: i64,
    event: &str,
    body: &str,
    timeout: Duration,
) -> Attempt {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            return Attempt {
                status: None,
                error: Some(format!("no HTTP client: {e}")),
            }
        }
    };
    let mut request = client
        .post(url)
        .timeout(timeout)
        .header("content-type", "application/json")
        .header("x-coastguard-event", event)
        .header("x-coastguard-delivery", delivery.to_string())
        .body(body.to_string());
    if let Some(secret) = secret {
        request = request.header(
            "x-coastguard-signature",
            super::signature(secret, crate::now(), body),
        );
    }
    match request.send().await {
        Err(e) if e.is_timeout() => Attempt {
            status: None,
            error: Some(format!("no answer within {} s", timeout.as_secs())),
        },
        Err(e) if e.is_connect() => Attempt {
            status: None,
            error: Some(format!("cannot connect: {}", root_cause(&e))),
        },
        Err(e) => Attempt {
            status: None,
            error: Some(root_cause(&e)),
        },
        Ok(answer) => {
            let status = answer.status();
            if status.is_success() {
                Attempt {
                    status: Some(status.as_u16()),
                    error: None,
                }
            } else {
                // A few words of the answer say why; more is the receiver's business.
                let text = tokio::time::timeout(Duration::from_secs(2), answer.text())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
                Attempt {
                    status: Some(status.as_u16()),
                    error: Some(if text.is_empty() {
                        format!("answered {status}")
                    } else {
                        format!("answered {status}: {text}")
                    }),
                }
            }
        }
    }
}

/// The innermost error, which says what happened (refused, reset, a certificate).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

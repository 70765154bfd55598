use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    coastguard::cli::main().await
}

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // symphonia logs every probe miss; the per-file error already says what went wrong.
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("warn,symphonia_core=off,symphonia=off"),
    )
    .init();
    let cli = zhijian::cli::Cli::parse();
    match zhijian::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zhijian: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

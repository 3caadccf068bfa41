use std::process::ExitCode;

fn main() -> ExitCode {
    smtp_workbench::cli::main()
}

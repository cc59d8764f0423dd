//! The `acextream` binary: everything lives in the `acextream-daemon` library.

fn main() -> std::process::ExitCode {
    acextream_daemon::run()
}

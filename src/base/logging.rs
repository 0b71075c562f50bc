//! Logging setup shared by the roles: env_logger on stderr, level from `--debug` or RUST_LOG.

pub fn init(debug: bool) {
    let mut b =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(if debug {
            "debug"
        } else {
            "warn"
        }));
    b.format_timestamp(None);
    let _ = b.try_init();
}

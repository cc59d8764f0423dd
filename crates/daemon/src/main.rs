fn main() { acextream_daemon::placeholder(); }

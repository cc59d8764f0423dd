//! The measured process's CPU time and resident memory, read from `/proc`.

use std::path::PathBuf;

use anyhow::Context as _;

/// CPU ticks a process has used so far: `utime` + `stime` (fields 14 and 15 of
/// `/proc/<pid>/stat`), in clock ticks.
pub fn parse_stat_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    // The command name (field 2) is in parentheses and may contain spaces and
    // parentheses itself, so fields are counted from the last ')'.
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .context("no ')' in /proc/<pid>/stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state), so field n is fields[n - 3].
    let get = |n: usize| -> anyhow::Result<u64> {
        fields
            .get(n - 3)
            .with_context(|| format!("/proc/<pid>/stat has no field {n}"))?
            .parse::<u64>()
            .with_context(|| format!("field {n} of /proc/<pid>/stat is not a number"))
    };
    Ok(get(14)? + get(15)?)
}

/// `VmRSS` of `/proc/<pid>/status`, in KiB.
pub fn parse_status_rss_kib(status: &str) -> anyhow::Result<u64> {
    parse_status_kib(status, "VmRSS")
}

/// A `kB` field (`VmRSS`, `VmHWM`, …) of `/proc/<pid>/status`, in KiB.
pub fn parse_status_kib(status: &str, field: &str) -> anyhow::Result<u64> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("no {field} line in /proc/<pid>/status"))?;
    let mut words = line.split_whitespace();
    let value = words
        .next()
        .with_context(|| format!("empty {field} line"))?;
    let kib: u64 = value
        .parse()
        .with_context(|| format!("{field} is not a number"))?;
    match words.next() {
        Some("kB") | None => Ok(kib),
        Some(unit) => anyhow::bail!("unexpected {field} unit {unit:?}"),
    }
}

/// A process whose `/proc` files are read. `pid` `None` is this process.
#[derive(Debug, Clone)]
pub struct Proc {
    dir: PathBuf,
}

impl Proc {
    /// The process with this id; fails if it does not exist.
    pub fn new(pid: u32) -> anyhow::Result<Self> {
        let dir = PathBuf::from(format!("/proc/{pid}"));
        anyhow::ensure!(dir.exists(), "no process with id {pid}");
        Ok(Self { dir })
    }

    /// This process.
    pub fn myself() -> Self {
        Self {
            dir: PathBuf::from("/proc/self"),
        }
    }

    /// CPU ticks used so far (user + system).
    pub fn cpu_ticks(&self) -> anyhow::Result<u64> {
        let path = self.dir.join("stat");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        parse_stat_cpu_ticks(&text)
    }

    /// Resident set size in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        parse_status_rss_kib(&self.status()?)
    }

    /// The highest resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        parse_status_kib(&self.status()?, "VmHWM")
    }

    fn status(&self) -> anyhow::Result<String> {
        let path = self.dir.join("status");
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }
}

/// Clock ticks per second (`getconf CLK_TCK`), and whether it was measured. Falls
/// back to 100, the value on every mainstream Linux, when `getconf` is missing.
pub fn clock_ticks() -> (u64, bool) {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&t| t > 0)
        .map_or((100, false), |t| (t, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (acextream (w) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                        1500 250 0 0 20 0 9 0 123456 987654321 5120 18446744073709551615 \
                        1 1 0 0 0 0 0 4096 17647 0 0 0 17 1 0 0 0 0 0";

    const STATUS: &str = "Name:\tacextream\nUmask:\t0022\nState:\tS (sleeping)\n\
                          VmPeak:\t  123456 kB\nVmSize:\t  120000 kB\nVmHWM:\t   30000 kB\n\
                          VmRSS:\t   20480 kB\nRssAnon:\t   10000 kB\nThreads:\t9\n";

    #[test]
    fn cpu_ticks_are_utime_plus_stime() {
        assert_eq!(parse_stat_cpu_ticks(STAT).unwrap(), 1750);
    }

    #[test]
    fn a_truncated_stat_is_an_error() {
        assert!(parse_stat_cpu_ticks("1 (x) S 1 2 3").is_err());
        assert!(parse_stat_cpu_ticks("garbage").is_err());
    }

    #[test]
    fn rss_is_read_from_vmrss_not_vmhwm() {
        assert_eq!(parse_status_rss_kib(STATUS).unwrap(), 20480);
        assert_eq!(parse_status_kib(STATUS, "VmHWM").unwrap(), 30000);
        assert!(parse_status_rss_kib("Name:\tx\n").is_err());
    }

    #[test]
    fn this_process_can_be_read() {
        let me = Proc::myself();
        let rss = me.rss_kib().unwrap();
        assert!(rss > 0);
        // The high-water mark read later is at least the RSS read before it.
        assert!(me.peak_rss_kib().unwrap() >= rss);
        me.cpu_ticks().unwrap();
    }
}

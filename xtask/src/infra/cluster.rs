//! A PostgreSQL 15 cluster laid out like a hosted Supabase database: the bootstrap superuser is
//! `supabase_admin`, and `postgres` is an ordinary role (`NOSUPERUSER CREATEDB CREATEROLE LOGIN
//! REPLICATION BYPASSRLS`) that owns the application database, so a migration that needs
//! superuser rights fails here exactly as it would on a hosted project.
//!
//! Used by the local stack (`cargo xtask up`) and by the test harness (throwaway clusters).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Password of every login role of a local cluster, as in Supabase's local stack.
pub const LOCAL_PASSWORD: &str = "postgres";

/// The bootstrap superuser, as on hosted Supabase.
pub const SUPERUSER: &str = "supabase_admin";

/// Where PostgreSQL 15's server programs live on Debian.
pub use super::prereq::PG_BIN;

/// The database pg_cron keeps its jobs in, as on hosted (`cron.database_name = 'postgres'`).
/// pg_cron can be created there only; its scheduler stays connected to it, so it must never be
/// a template (the harness builds it on request, `TestCluster::cron_db`).
pub const CRON_DATABASE: &str = "postgres";

#[derive(Debug, Clone)]
pub struct Cluster {
    /// Folder holding `data/` (the cluster), `run/` (its socket) and `postgres.log`.
    pub root: PathBuf,
    pub port: u16,
    /// `false` for throwaway clusters: `fsync=off`, `synchronous_commit=off`.
    pub durable: bool,
    /// Folder of `initdb`, `pg_ctl` and `postgres`: [`PG_BIN`] unless [`Cluster::with_bin`]
    /// names another server (the PostgreSQL 17 test uses one from npm).
    pub bin: PathBuf,
}

impl Cluster {
    pub fn new(root: impl Into<PathBuf>, port: u16, durable: bool) -> Self {
        Cluster {
            root: root.into(),
            port,
            durable,
            bin: PathBuf::from(PG_BIN),
        }
    }

    /// pg_cron's library, when this server has one (Debian's `postgresql-15-cron`; the
    /// PostgreSQL 17 server from npm has none).
    pub fn has_pg_cron(&self) -> bool {
        let lib = self.bin.parent().map(|p| p.join("lib"));
        lib.is_some_and(|l| {
            l.join("pg_cron.so").exists() || l.join("postgresql/pg_cron.so").exists()
        })
    }

    /// The settings that make pg_cron the real scheduler: preloaded, with its database, running
    /// jobs in background workers (no libpq connection, so no password for it to hold; hosted
    /// connects over loopback instead, with the same result). Empty without pg_cron.
    pub fn cron_conf(&self) -> String {
        if !self.has_pg_cron() {
            return String::new();
        }
        format!(
            "# Supabase Cron: pg_cron, as hosted preloads it.\n\
             cron.database_name = '{CRON_DATABASE}'\n\
             cron.use_background_workers = on\n\
             max_worker_processes = 16\n"
        )
    }

    /// Appends [`Cluster::cron_conf`] to a cluster created before it existed, and the
    /// [`Cluster::preload_conf`] line when the file's last one differs; true when the file
    /// changed (the server needs a restart to load the libraries).
    pub fn ensure_cron_conf(&self) -> Result<bool> {
        let conf = self.cron_conf();
        let path = self.data_dir().join("postgresql.conf");
        let mut existing =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut changed = false;
        if !conf.is_empty() && !existing.contains("cron.database_name") {
            existing = format!("{existing}\n{conf}");
            changed = true;
        }
        // The last setting of a name wins, so an older line is overridden, not edited.
        let preload = self.preload_conf();
        let last = existing
            .lines()
            .rfind(|l| l.trim_start().starts_with("shared_preload_libraries"));
        if last != preload.lines().last() {
            existing = format!("{existing}\n{preload}");
            changed = true;
        }
        if changed {
            fs::write(&path, existing)?;
        }
        Ok(changed)
    }

    /// The libraries hosted preloads that this server has: pg_stat_statements (the query
    /// statistics `supabase inspect db outliers` and `db-stats` read; issue 21) and pg_cron.
    pub fn preload_libraries(&self) -> Vec<&'static str> {
        let lib = self.bin.parent().map(|p| p.join("lib"));
        let has = |name: &str| {
            lib.as_ref().is_some_and(|l| {
                l.join(format!("{name}.so")).exists()
                    || l.join(format!("postgresql/{name}.so")).exists()
            })
        };
        ["pg_stat_statements", "pg_cron"]
            .into_iter()
            .filter(|name| has(name))
            .collect()
    }

    /// The `shared_preload_libraries` line of [`Cluster::preload_libraries`].
    pub fn preload_conf(&self) -> String {
        format!(
            "# Preloaded as on hosted.\nshared_preload_libraries = '{}'\n",
            self.preload_libraries().join(", ")
        )
    }

    /// Restarts a running server (fast shutdown), e.g. to load a preloaded library.
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.start()
    }

    /// The same cluster run by the server programs in `bin`.
    pub fn with_bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.bin = bin.into();
        self
    }

    fn require_binaries(&self) -> Result<()> {
        if self.bin == Path::new(PG_BIN) {
            return require_server_binaries();
        }
        if self.bin.join("initdb").exists() {
            return Ok(());
        }
        bail!("no PostgreSQL server programs in {}", self.bin.display())
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// The cluster has been created (initdb ran to completion).
    pub fn exists(&self) -> bool {
        self.data_dir().join("PG_VERSION").exists()
            && self.data_dir().join("postgresql.conf").exists()
    }

    /// URL for `role` (password [`LOCAL_PASSWORD`]) on database `db` over loopback TCP.
    pub fn url(&self, role: &str, db: &str) -> String {
        format!(
            "postgresql://{role}:{LOCAL_PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    /// Runs initdb with `supabase_admin` as the superuser and writes the server settings.
    /// The `postgres` role is created by [`Cluster::bootstrap_roles`] once the server runs.
    pub fn init(&self) -> Result<()> {
        self.require_binaries()?;
        let os_user = OsUser::current()?;
        fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create {}", self.root.display()))?;
        fs::create_dir_all(self.socket_dir())?;
        let pwfile = self.root.join(".pwfile");
        fs::write(&pwfile, LOCAL_PASSWORD)?;
        os_user.hand_over(&self.root)?;
        os_user.hand_over(&self.socket_dir())?;
        os_user.hand_over(&pwfile)?;

        let data = self.data_dir();
        let mut cmd = os_user.command(&self.bin.join("initdb"));
        cmd.arg("-D")
            .arg(&data)
            .arg("--username")
            .arg(SUPERUSER)
            .arg("--pwfile")
            .arg(&pwfile)
            .args(["--auth-host=scram-sha-256", "--auth-local=scram-sha-256"])
            .args(["--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"]);
        if !self.durable {
            cmd.arg("--no-sync");
        }
        let out = cmd.output().context("cannot run initdb")?;
        let _ = fs::remove_file(&pwfile);
        if !out.status.success() {
            bail!(
                "initdb failed for {}:\n{}{}",
                data.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let mut conf = format!(
            "\n# Written by cargo xtask: a local Supabase-compatible cluster.\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{sock}'\n\
             max_connections = 200\n\
             shared_buffers = 128MB\n\
             wal_level = logical\n\
             max_wal_senders = 4\n\
             max_replication_slots = 4\n\
             timezone = 'UTC'\n\
             log_timezone = 'UTC'\n\
             password_encryption = 'scram-sha-256'\n",
            port = self.port,
            sock = self.socket_dir().display(),
        );
        if !self.durable {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        conf.push_str(&self.preload_conf());
        conf.push_str(&self.cron_conf());
        let conf_path = data.join("postgresql.conf");
        let mut existing = fs::read_to_string(&conf_path)?;
        existing.push_str(&conf);
        fs::write(&conf_path, existing)?;
        Ok(())
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) -> Result<()> {
        let os_user = OsUser::current()?;
        // The log lives beside the data, owned by the server's user so it can append.
        if !self.log_file().exists() {
            fs::write(self.log_file(), "")?;
        }
        os_user.hand_over(&self.log_file())?;
        let out = os_user
            .command(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "-o"])
            .arg(format!("-p {}", self.port))
            .arg("start")
            .stdin(Stdio::null())
            .output()
            .context("cannot run pg_ctl")?;
        if !out.status.success() {
            let log = fs::read_to_string(self.log_file()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "PostgreSQL did not start (port {}):\n{}\nlast lines of {}:\n{}",
                self.port,
                String::from_utf8_lossy(&out.stderr).trim(),
                self.log_file().display(),
                tail.join("\n")
            );
        }
        Ok(())
    }

    /// Stops the server (fast shutdown), keeping its data.
    pub fn stop(&self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let out = OsUser::current()?
            .command(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .stdin(Stdio::null())
            .output()
            .context("cannot run pg_ctl")?;
        if !out.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// The postmaster of this data directory is alive.
    pub fn is_running(&self) -> bool {
        let pid_file = self.data_dir().join("postmaster.pid");
        let Ok(text) = fs::read_to_string(pid_file) else {
            return false;
        };
        let Some(pid) = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok())
        else {
            return false;
        };
        Path::new(&format!("/proc/{pid}")).exists()
    }

    /// Creates `postgres` as on hosted Supabase (not a superuser) and gives it the application
    /// database. Idempotent.
    pub fn bootstrap_roles(&self) -> Result<()> {
        let mut admin = super::db::connect(&self.url(SUPERUSER, "postgres"))?;
        admin
            .batch_execute(BOOTSTRAP_SQL)
            .context("cannot create the postgres role")?;
        Ok(())
    }
}

/// A cluster in a temporary folder that disappears with this process, however it exits: a guard
/// process holding a pipe from us stops the server and deletes the folder once the pipe closes.
/// Used by the test harness and the benchmarks.
pub struct Throwaway {
    pub cluster: Cluster,
    _guard: (std::process::Child, std::process::ChildStdin),
}

impl Throwaway {
    /// initdb (no fsync) on a free port, start, and create the hosted-like roles.
    pub fn start() -> Result<Self> {
        Self::start_with_bin(PG_BIN)
    }

    /// [`Throwaway::start`] with the server programs in `bin`.
    pub fn start_with_bin(bin: impl Into<PathBuf>) -> Result<Self> {
        let bin = bin.into();
        let root = std::env::temp_dir().join(format!(
            "moha-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        fs::create_dir(&root).with_context(|| format!("cannot create {}", root.display()))?;
        // Started before the server so that even a failed start is cleaned up.
        let guard = spawn_guard(&root)?;
        let cluster = Cluster::new(&root, free_port()?, false).with_bin(bin);
        cluster.init()?;
        cluster.start()?;
        cluster.bootstrap_roles()?;
        Ok(Throwaway {
            cluster,
            _guard: guard,
        })
    }
}

/// A `sh` process that waits for its stdin to close (this process exiting, by any means), then
/// stops the server immediately and deletes the cluster's folder. It ignores the signals a
/// Ctrl-C or a test runner's kill sends to the process group, so it outlives us.
fn spawn_guard(root: &Path) -> Result<(std::process::Child, std::process::ChildStdin)> {
    const SCRIPT: &str = r#"
trap '' INT TERM HUP
cat >/dev/null
pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"
"#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("moha-pg-guard")
        .arg(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the cleanup guard (sh)")?;
    // Rust opens the pipe close-on-exec, so no other child (postgres included) inherits it and
    // keeps it open after we die.
    let stdin = child.stdin.take().expect("stdin is piped");
    Ok((child, stdin))
}

/// Hosted Supabase's `postgres`: NOSUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS.
const BOOTSTRAP_SQL: &str = r#"
do $$
begin
  if not exists (select from pg_roles where rolname = 'postgres') then
    create role postgres login nosuperuser createdb createrole replication bypassrls
      password 'postgres';
  end if;
end
$$;
alter role postgres nosuperuser createdb createrole login replication bypassrls;
alter database postgres owner to postgres;
"#;

/// Finds a free TCP port on loopback (for throwaway clusters).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Fails with the install command when PostgreSQL 15's server programs are missing.
pub fn require_server_binaries() -> Result<()> {
    if Path::new(PG_BIN).join("initdb").exists() {
        if !Cluster::new("/", 0, false).has_pg_cron() {
            bail!(
                "pg_cron is missing (/usr/lib/postgresql/15/lib/pg_cron.so): the local stack and the \
                 tests run Supabase Cron on it.\n{}",
                super::prereq::install_hint()
            );
        }
        return Ok(());
    }
    bail!(
        "PostgreSQL 15 server programs are missing ({PG_BIN}/initdb).\n{}",
        super::prereq::install_hint()
    )
}

/// The operating-system user that runs the server: `postgres` when we are root (initdb refuses
/// root), otherwise ourselves.
#[derive(Debug, Clone, Copy)]
pub struct OsUser {
    /// uid/gid to switch to, `None` when we run the server as ourselves.
    switch_to: Option<(u32, u32)>,
}

impl OsUser {
    pub fn current() -> Result<Self> {
        if super::process::current_uid()? != 0 {
            return Ok(OsUser { switch_to: None });
        }
        let passwd = fs::read_to_string("/etc/passwd").context("cannot read /etc/passwd")?;
        let entry = passwd
            .lines()
            .find(|l| l.starts_with("postgres:"))
            .context("running as root but there is no `postgres` user to run the server (install postgresql-15)")?;
        let fields: Vec<&str> = entry.split(':').collect();
        let uid = fields.get(2).and_then(|v| v.parse().ok());
        let gid = fields.get(3).and_then(|v| v.parse().ok());
        match (uid, gid) {
            (Some(uid), Some(gid)) => Ok(OsUser {
                switch_to: Some((uid, gid)),
            }),
            _ => bail!("malformed /etc/passwd entry for postgres"),
        }
    }

    /// A command that runs as this user.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        if let Some((uid, gid)) = self.switch_to {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
            cmd.env("HOME", "/var/lib/postgresql");
            // The server user cannot enter root's working directory.
            cmd.current_dir("/");
        }
        cmd
    }

    /// Makes `path` owned by this user (no-op when we are not switching users).
    pub fn hand_over(&self, path: &Path) -> Result<()> {
        if let Some((uid, gid)) = self.switch_to {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .with_context(|| format!("cannot chown {}", path.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster made before pg_stat_statements was preloaded gets the new line appended (the
    /// last setting wins); one made with it is left alone.
    #[test]
    fn an_older_cluster_gets_the_preload_line_once() {
        let root = std::env::temp_dir().join(format!("moha-conf-test-{}", std::process::id()));
        let cluster = Cluster::new(&root, 5432, false);
        fs::create_dir_all(cluster.data_dir()).unwrap();
        let conf = cluster.data_dir().join("postgresql.conf");
        fs::write(
            &conf,
            format!(
                "#shared_preload_libraries = ''\nshared_preload_libraries = 'pg_cron'\n{}",
                cluster.cron_conf()
            ),
        )
        .unwrap();
        assert!(cluster.preload_libraries().contains(&"pg_stat_statements"));
        assert!(cluster.ensure_cron_conf().unwrap());
        let text = fs::read_to_string(&conf).unwrap();
        assert!(
            text.trim_end().ends_with(&format!(
                "shared_preload_libraries = '{}'",
                cluster.preload_libraries().join(", ")
            )),
            "{text}"
        );
        assert!(!cluster.ensure_cron_conf().unwrap());
        assert_eq!(fs::read_to_string(&conf).unwrap(), text);
        let _ = fs::remove_dir_all(&root);
    }
}

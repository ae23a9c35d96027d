//! Test harness: one throwaway PostgreSQL cluster per run of the test binary (`tests/it`), laid
//! out like hosted Supabase (`supabase_admin` superuser, `postgres` not a superuser), with two
//! template databases built once: `moha_compat` (the Supabase compatibility layer) and `moha_template` (compat + every
//! file of `supabase/migrations`). Each test gets its own database copied from a template, so
//! tests run in parallel and in isolation.
//!
//! Architecture invariant: only this crate owns throwaway databases. Nothing is left behind: a
//! guard process removes the cluster when the test binary exits, however it exits.

pub mod effective;
pub mod gateway;
pub mod observability;
pub mod personas;
pub mod pg17;
pub mod prometheus;
pub mod provider_stub;
pub mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use postgres::Client;
use sql::quote;
use xtask::cluster::{Cluster, Throwaway, SUPERUSER};

const COMPAT_TEMPLATE: &str = "moha_compat";
const MIGRATED_TEMPLATE: &str = "moha_template";

pub struct TestCluster {
    throwaway: Throwaway,
    migrated_template: OnceLock<()>,
    compat_template: OnceLock<()>,
    next_db: AtomicUsize,
    /// Held while a template is built. Roles are cluster-wide and `if not exists … create role`
    /// is not atomic, so two concurrent builds could both create one; the second got 23505.
    building: Mutex<()>,
}

/// The cluster every test shares, started on first use.
pub fn cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER
        .get_or_init(|| TestCluster::start(Throwaway::start()).unwrap_or_else(|e| panic!("{e:#}")))
}

/// A PostgreSQL 17 cluster laid out the same way (see [`pg17`]), started on first use.
pub fn pg17_cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        pg17::server_bin()
            .and_then(|bin| TestCluster::start(Throwaway::start_with_bin(bin)))
            .unwrap_or_else(|e| panic!("{e:#}"))
    })
}

/// The database pg_cron's scheduler runs jobs in (`cron.database_name`), built as the local
/// stack builds its own: the compat layer (which creates pg_cron there, and only there) and
/// every migration, whose jobs are scheduled for real. The scheduler serves one database per
/// cluster and the tests that use it rewrite its jobs and runs, so each caller gets a cluster of
/// its own (left running, removed at exit like the shared one); never a template (its scheduler
/// stays connected).
pub fn cron_db() -> TestDb {
    let cluster: &'static TestCluster = Box::leak(Box::new(
        TestCluster::start(Throwaway::start()).unwrap_or_else(|e| panic!("{e:#}")),
    ));
    cluster.build_cron_db()
}

impl TestCluster {
    fn start(throwaway: anyhow::Result<Throwaway>) -> anyhow::Result<Self> {
        Ok(TestCluster {
            throwaway: throwaway?,
            migrated_template: OnceLock::new(),
            compat_template: OnceLock::new(),
            next_db: AtomicUsize::new(0),
            building: Mutex::new(()),
        })
    }

    /// The folder holding this cluster (removed when the process exits).
    pub fn root(&self) -> &std::path::Path {
        &self.throwaway.cluster.root
    }

    pub fn port(&self) -> u16 {
        self.throwaway.cluster.port
    }

    /// URL for `role` (password `postgres`) on database `db`.
    pub fn url(&self, role: &str, db: &str) -> String {
        self.throwaway.cluster.url(role, db)
    }

    /// A fresh database owned by `postgres` with nothing installed.
    pub fn empty_db(&self) -> TestDb {
        self.create_db(None)
    }

    /// A fresh database with the Supabase compatibility layer only.
    pub fn compat_db(&self) -> TestDb {
        self.compat_template.get_or_init(|| {
            self.build_template(COMPAT_TEMPLATE, false)
                .unwrap_or_else(|e| panic!("building the compat template failed: {e:#}"))
        });
        self.create_db(Some(COMPAT_TEMPLATE))
    }

    /// A fresh database with the compatibility layer and every migration applied.
    pub fn migrated_db(&self) -> TestDb {
        self.migrated_template.get_or_init(|| {
            self.build_template(MIGRATED_TEMPLATE, true)
                .unwrap_or_else(|e| panic!("building the migrated template failed: {e:#}"))
        });
        self.create_db(Some(MIGRATED_TEMPLATE))
    }

    fn build_cron_db(&self) -> TestDb {
        let name = xtask::cluster::CRON_DATABASE.to_string();
        let _building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        let built = (|| -> anyhow::Result<()> {
            // `postgres` exists from the start (the cluster's maintenance database).
            if name != "postgres" {
                let mut owner = xtask::db::connect(&self.url("postgres", "postgres"))?;
                owner.batch_execute(&format!("create database {}", ident(&name)))?;
            }
            xtask::compat::install(&mut xtask::db::connect(&self.url(SUPERUSER, &name))?)?;
            let opts = xtask::migrate::Options {
                dir: xtask::paths::migrations_dir(),
                dry_run: false,
                include_all: false,
                compat: false,
            };
            xtask::migrate::run_quietly(&self.url("postgres", &name), &opts)?;
            Ok(())
        })();
        built.unwrap_or_else(|e| panic!("building the cron database failed: {e:#}"));
        TestDb {
            name,
            cluster: self.throwaway.cluster.clone(),
        }
    }

    fn build_template(&self, name: &str, migrate: bool) -> anyhow::Result<()> {
        let _building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        let mut owner = xtask::db::connect(&self.url("postgres", "postgres"))?;
        owner.batch_execute(&format!("create database {}", ident(name)))?;
        drop(owner);
        let mut admin = xtask::db::connect(&self.url(SUPERUSER, name))?;
        xtask::compat::install(&mut admin)?;
        drop(admin);
        if migrate {
            let opts = xtask::migrate::Options {
                dir: xtask::paths::migrations_dir(),
                dry_run: false,
                include_all: false,
                compat: false,
            };
            xtask::migrate::run_quietly(&self.url("postgres", name), &opts)?;
        }
        Ok(())
    }

    fn create_db(&self, template: Option<&str>) -> TestDb {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{n}");
        let mut sql = format!("create database {}", ident(&name));
        if let Some(t) = template {
            sql.push_str(&format!(" template {}", ident(t)));
        }
        let mut owner = xtask::db::connect(&self.url("postgres", "postgres"))
            .unwrap_or_else(|e| panic!("{e:#}"));
        owner
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        TestDb {
            name,
            cluster: self.throwaway.cluster.clone(),
        }
    }
}

/// One test's database.
pub struct TestDb {
    pub name: String,
    cluster: Cluster,
}

impl TestDb {
    fn url_for(&self, role: &str) -> String {
        self.cluster.url(role, &self.name)
    }

    /// URL as `postgres` (what migrations and the application use).
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// URL as the superuser `supabase_admin`.
    pub fn admin_url(&self) -> String {
        self.url_for(SUPERUSER)
    }

    pub fn connect(&self) -> Client {
        xtask::db::connect(&self.url()).unwrap_or_else(|e| panic!("{e:#}"))
    }

    pub fn connect_admin(&self) -> Client {
        xtask::db::connect(&self.admin_url()).unwrap_or_else(|e| panic!("{e:#}"))
    }
}

/// The project's one identifier-quoting function; the harness names its own databases, so a
/// name it cannot quote is a bug here.
fn ident(name: &str) -> String {
    quote::ident(name).expect("harness database names are valid identifiers")
}

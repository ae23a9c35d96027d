//! Benchmarks of the backend running itself (issue 17).
//!
//! - P11: `cargo xtask backup` and `restore` of 1M leads (with their 1M audit rows) and 1,000
//!   Storage objects: time and size.
//! - P12: the partition upkeep on 10M `social_messages`: how long writers and readers of the
//!   parent wait while it runs (a probe inserts into the current month and reads the last day
//!   without pause, before and during each run), for a month created ahead, rows moved out of the
//!   default partition, and a month archived.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{fresh_db, migrated_db, Figure};
use crate::commands::backup;
use crate::infra::cluster::{Throwaway, SUPERUSER};
use crate::infra::db;
use crate::jwt;

fn gateway(db_url: &str, state: &std::path::Path) -> Result<(crate::gateway::Gateway, String)> {
    let mut secrets = crate::gateway::function_secrets()?;
    secrets.insert("JWT_SECRET".into(), jwt::LOCAL_JWT_SECRET.into());
    let port = crate::infra::cluster::free_port()?;
    let g = crate::gateway::start(&crate::gateway::Options {
        port,
        db_url: db_url.to_string(),
        state_dir: state.to_path_buf(),
        storage_dir: state.join("storage"),
        secrets,
        exit_with_parent: true,
        signing_keys: crate::keys::SigningKeys::generate()?,
    })?;
    Ok((g, format!("http://127.0.0.1:{port}")))
}

fn upload(port: u16, key: &str, path: &str, bytes: &[u8]) -> Result<()> {
    let object = format!("/storage/v1/object/{path}");
    let out = crate::infra::http::Request::new("POST", &object)
        .bearer(key)
        .body("image/png", bytes)
        .send(port)?
        .raw;
    if !out.starts_with("HTTP/1.1 200") {
        bail!("upload of {path}: {}", out.lines().next().unwrap_or(""));
    }
    Ok(())
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// P11.
pub fn p11_backup_restore() -> Result<Vec<Figure>> {
    eprintln!("==> P11: backup and restore of 1M leads, 1M audit rows and 1,000 objects");
    let t = Throwaway::start()?;
    let src = migrated_db(&t, "p11")?;
    let load = Instant::now();
    db::connect(&src)?.batch_execute(
        "insert into public.leads (client_name, source, status)
           select 'Lead ' || i, 'website', 'new' from generate_series(1, 1000000) i",
    )?;
    eprintln!(
        "    1M leads inserted (audited) in {:.1} s",
        load.elapsed().as_secs_f64()
    );
    let work = tempfile::tempdir()?;
    let (_ga, api_a) = gateway(&src, &work.path().join("a"))?;
    let port: u16 = api_a.rsplit(':').next().unwrap_or("0").parse()?;
    let key = jwt::api_key("service_role", jwt::LOCAL_JWT_SECRET);
    // 1,000 objects of 16 KiB, different bytes each.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..1000 {
        let bytes: Vec<u8> = (0..16 * 1024)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        upload(
            port,
            &key,
            &format!("project-media/bench/{i:04}.png"),
            &bytes,
        )?;
    }
    let keygen = std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(work.path().join("id.txt"))
        .output()
        .context("age-keygen (apt-get install -y age)")?;
    if !keygen.status.success() {
        bail!("age-keygen failed");
    }
    let recipient = std::fs::read_to_string(work.path().join("id.txt"))?
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(String::from))
        .context("age-keygen wrote no public key")?;
    let target = |url: &str, api: &str| backup::Target {
        db_url: Some(url.to_string()),
        env: None,
        api_url: Some(api.to_string()),
        service_key: Some(key.clone()),
        pg_bin: None,
    };
    let out = work.path().join("backup");
    let started = Instant::now();
    backup::backup(&backup::BackupArgs {
        target: target(&src, &api_a),
        out: out.clone(),
        recipients: vec![recipient],
    })?;
    let backup_time = started.elapsed();
    let size = dir_bytes(&out);
    let dst = fresh_db(&t, "p11_restore")?;
    let (_gb, api_b) = gateway(&dst, &work.path().join("b"))?;
    let started = Instant::now();
    backup::restore(&backup::RestoreArgs {
        dir: out,
        target: target(&dst, &api_b),
        identity: Some(work.path().join("id.txt")),
        force: false,
    })?;
    let restore_time = started.elapsed();
    let what = "1M leads + 1M audit rows + 1,000 objects of 16 KiB";
    Ok(vec![
        Figure {
            id: "P11",
            what: format!("cargo xtask backup (age-encrypted) of {what}"),
            value: format!(
                "{:.1} s, {:.1} MiB",
                backup_time.as_secs_f64(),
                size as f64 / (1 << 20) as f64
            ),
            target: "measured",
        },
        Figure {
            id: "P11",
            what: "cargo xtask restore of it into an empty database (migrate, load, upload, verify every table, object and the audit digest)".into(),
            value: format!("{:.1} s", restore_time.as_secs_f64()),
            target: "measured",
        },
    ])
}

/// The longest a probe's insert into the current month and read of the last day took while
/// `work` ran, and the longest before it for as long.
struct Waits {
    before_insert: Duration,
    during_insert: Duration,
    before_read: Duration,
    during_read: Duration,
    took: Duration,
}

fn probe_during(url: &str, account: &str, work: impl FnOnce() -> Result<()>) -> Result<Waits> {
    let stop = Arc::new(AtomicBool::new(false));
    let during = Arc::new(AtomicBool::new(false));
    let (u, a, s, d) = (
        url.to_string(),
        account.to_string(),
        stop.clone(),
        during.clone(),
    );
    let probe = std::thread::spawn(move || -> Result<[Duration; 4]> {
        let mut c = db::connect(&u)?;
        let mut m = [Duration::ZERO; 4];
        while !s.load(Ordering::Relaxed) {
            let phase = if d.load(Ordering::Relaxed) { 1 } else { 0 };
            let t0 = Instant::now();
            c.execute(
                "insert into public.social_messages (account_id, message_type, content) \
                 values ($1::text::uuid, 'comment', 'probe')",
                &[&a],
            )?;
            m[phase * 2] = m[phase * 2].max(t0.elapsed());
            let t1 = Instant::now();
            c.query_one(
                "select count(*) from public.social_messages \
                  where account_id = $1::text::uuid and received_at > now() - interval '1 day'",
                &[&a],
            )?;
            m[phase * 2 + 1] = m[phase * 2 + 1].max(t1.elapsed());
        }
        Ok(m)
    });
    // As long before as the work will take at most: a few seconds of baseline.
    std::thread::sleep(Duration::from_secs(3));
    during.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let result = work();
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let m = probe
        .join()
        .map_err(|_| anyhow::anyhow!("the probe panicked"))??;
    result?;
    Ok(Waits {
        before_insert: m[0],
        during_insert: m[2],
        before_read: m[1],
        during_read: m[3],
        took,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// P12.
pub fn p12_partition_upkeep() -> Result<Vec<Figure>> {
    eprintln!("==> P12: partition upkeep on 10M social_messages (the parent's lock)");
    let t = Throwaway::start()?;
    let url = migrated_db(&t, "p12")?;
    let mut c = db::connect(&url)?;
    let account: String = c
        .query_one(
            "insert into public.social_accounts (platform, username) values ('instagram', 'bench') \
             returning id::text",
            &[],
        )?
        .get(0);
    // 24 months back, so the 10M rows land in monthly partitions; loaded by the superuser with
    // triggers off (no audit rows: this measures the upkeep, not the load).
    c.batch_execute(
        "select private.social_messages_attach((date_trunc('month', now()) - make_interval(months => m))::date)
           from generate_series(1, 24) m",
    )?;
    let load = Instant::now();
    let mut admin = db::connect(&t.cluster.url(SUPERUSER, "p12"))?;
    admin.batch_execute(&format!(
        "set session_replication_role = replica;
         insert into public.social_messages (account_id, message_type, content, received_at)
           select '{account}', 'comment', 'message ' || i,
                  now() - (random() * interval '720 days')
             from generate_series(1, 10000000) i;
         reset session_replication_role;
         analyze public.social_messages;"
    ))?;
    eprintln!(
        "    10M messages loaded in {:.0} s",
        load.elapsed().as_secs_f64()
    );
    let mut out = Vec::new();
    let mut figure = |what: &str, w: &Waits| {
        out.push(Figure {
            id: "P12",
            what: format!("upkeep on 10M social_messages: {what}"),
            value: format!(
                "run {:.2} s; longest insert into the parent {} (before: {}), longest read of the last day {} (before: {})",
                w.took.as_secs_f64(),
                ms(w.during_insert),
                ms(w.before_insert),
                ms(w.during_read),
                ms(w.before_read)
            ),
            target: "parent not blocked while attaching",
        });
    };
    // 1. The daily case: one month ahead to create, the default empty, nothing to archive.
    c.batch_execute("update public.operations_settings set social_messages_kept_months = 1200")?;
    let w = probe_during(&url, &account, || {
        db::connect(&url)?
            .batch_execute("select private.social_messages_upkeep(now() + interval '1 month')")?;
        Ok(())
    })?;
    figure(
        "a month ahead created (SHARE UPDATE EXCLUSIVE on the parent)",
        &w,
    );
    // 2. 100k rows in the default partition (months without a partition), moved.
    admin.batch_execute(&format!(
        "set session_replication_role = replica;
         insert into public.social_messages (account_id, message_type, content, received_at)
           select '{account}', 'comment', 'stray ' || i,
                  date_trunc('month', now()) + interval '8 months' + (random() * interval '58 days')
             from generate_series(1, 100000) i;
         reset session_replication_role;"
    ))?;
    let w = probe_during(&url, &account, || {
        db::connect(&url)?.batch_execute("select private.social_messages_upkeep()")?;
        Ok(())
    })?;
    figure(
        "100k rows moved out of the default partition into two new months (the default locked while attaching)",
        &w,
    );
    // 3. Retention: the oldest month (~416k rows) detached into archive (ACCESS EXCLUSIVE on the
    //    parent from the detach to the commit).
    c.batch_execute("update public.operations_settings set social_messages_kept_months = 23")?;
    let w = probe_during(&url, &account, || {
        db::connect(&url)?.batch_execute("select private.social_messages_upkeep()")?;
        Ok(())
    })?;
    figure(
        "the oldest month archived (detached: ACCESS EXCLUSIVE on the parent until commit)",
        &w,
    );
    Ok(out)
}

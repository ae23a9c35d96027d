//! Starts this package's throwaway cluster, prints its folder and port, then waits for stdin to
//! close. The harness test kills it to prove the cluster is cleaned up however a test exits.

use std::io::Read;

fn main() {
    let cluster = moha_tests::cluster();
    let db = cluster.empty_db();
    println!("{} {}", cluster.root().display(), cluster.port());
    drop(db);
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

//! The project-local cluster script (`scripts/db.sh`, which `make run` and `make test` call):
//! a port held by another program and a stale cluster folder stop it with a sentence saying
//! what to do and leave nothing half made; a second start reuses the running cluster.
#![allow(clippy::unwrap_used)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/db.sh")
}

/// A folder the `postgres` user can reach (never under /root), unique to this test.
fn home(name: &str) -> PathBuf {
    let dir = PathBuf::from(format!(
        "/var/tmp/landuse-setup-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn db(home: &Path, port: u16, action: &str) -> Output {
    Command::new("bash")
        .arg(script())
        .arg(action)
        .env("LANDUSE_PG_HOME", home)
        .env("LANDUSE_PG_PORT", port.to_string())
        .output()
        .unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_port_held_by_another_program_is_named_and_no_cluster_is_left_running() {
    let home = home("port");
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let out = db(&home, port, "start");
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains(&format!("port {port} is taken")), "{said}");
    assert!(said.contains("LANDUSE_PG_PORT"), "says what to do: {said}");
    let status = text(&db(&home, port, "status"));
    assert!(status.contains("state: stopped"), "{status}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn a_stale_cluster_of_another_version_is_refused_with_the_way_out() {
    let home = home("stale");
    std::fs::create_dir_all(home.join("pg")).unwrap();
    std::fs::write(home.join("pg/PG_VERSION"), "13\n").unwrap();
    let out = db(&home, free_port(), "start");
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("PostgreSQL 13") && said.contains("make db-clean"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(home.join("pg/PG_VERSION")).unwrap(),
        "13\n",
        "left untouched"
    );

    std::fs::remove_file(home.join("pg/PG_VERSION")).unwrap();
    let said = text(&db(&home, free_port(), "start"));
    assert!(
        said.contains("holds no cluster") && said.contains("make db-clean"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn a_second_start_reuses_the_running_cluster_and_stop_stops_it() {
    let home = home("reuse");
    let port = free_port();
    let first = db(&home, port, "start");
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("created a PostgreSQL 15 cluster"));
    let second = db(&home, port, "start");
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains("reusing the cluster"), "{}", text(&second));
    let stopped = db(&home, port, "stop");
    assert!(text(&stopped).contains("stopped"), "{}", text(&stopped));
    assert!(text(&db(&home, port, "status")).contains("state: stopped"));
    let _ = Command::new("rm").arg("-rf").arg(&home).status();
}

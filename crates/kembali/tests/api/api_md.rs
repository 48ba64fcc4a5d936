//! docs/API.md's curl examples, run as written against the real server with
//! `$BASE` and `$KEY` set: each answers the status its comment promises
//! (`# → 201, ORDER_ID from .id`), and the fields it names feed later examples.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::support::TestApp;

/// One example: the shell command, the status it promises, and what it sets.
#[derive(Debug, Clone)]
enum Step {
    Set {
        name: String,
        command: String,
    },
    Curl {
        command: String,
        status: u16,
        captures: Vec<(String, String)>,
    },
}

fn steps(markdown: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut in_sh = false;
    let mut promise: Option<(u16, Vec<(String, String)>)> = None;
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let mut command = line.to_owned();
        // Kept as written: the shell reads a backslash-newline as one line.
        while command.ends_with('\\') {
            command.push('\n');
            command.push_str(lines.next().unwrap_or(""));
        }
        // A JSON body in double quotes can span lines without a backslash.
        while command.matches('"').count() % 2 == 1 && command.starts_with("curl") {
            let Some(next) = lines.next() else { break };
            command.push('\n');
            command.push_str(next);
        }
        if let Some(rest) = line.strip_prefix("# → ") {
            let mut parts = rest.split(", ");
            let status = parts
                .next()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or_else(|| panic!("no status in `{line}`"));
            let captures = parts
                .map(|p| {
                    let (name, path) = p.split_once(" from ").unwrap_or_else(|| panic!("`{p}`"));
                    (name.trim().to_owned(), path.trim().to_owned())
                })
                .collect();
            promise = Some((status, captures));
        } else if command.starts_with("curl") {
            let (status, captures) = promise
                .take()
                .unwrap_or_else(|| panic!("this example says no status: {command}"));
            steps.push(Step::Curl {
                command,
                status,
                captures,
            });
        } else if let Some((name, value)) = command.split_once("=$(")
            && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        {
            let inner = value.strip_suffix(')').unwrap_or(value).to_owned();
            steps.push(Step::Set {
                name: name.to_owned(),
                command: inner,
            });
        }
    }
    steps
}

/// `.lines.0.id` in `v`.
fn field(v: &Value, path: &str) -> Option<String> {
    let mut at = v;
    for part in path.trim_start_matches('.').split('.') {
        at = match part.parse::<usize>() {
            Ok(i) => at.get(i)?,
            Err(_) => at.get(part)?,
        };
    }
    at.as_str().map(str::to_owned)
}

fn shell(command: &str, env: &BTreeMap<String, String>) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(env)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn the_examples_do_what_they_say(app: &TestApp) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md");
    let markdown = std::fs::read_to_string(path).expect("docs/API.md");
    let steps = steps(&markdown);
    let curls = steps
        .iter()
        .filter(|s| matches!(s, Step::Curl { .. }))
        .count();
    assert!(curls >= 12, "only {curls} curl examples found");

    let mut env = BTreeMap::from([
        ("BASE".to_owned(), app.base.clone()),
        ("KEY".to_owned(), app.key.clone()),
    ]);
    let dir = tempfile_dir();
    for step in steps {
        let env_now = env.clone();
        let dir = dir.clone();
        match step {
            Step::Set { name, command } => {
                let value = tokio::task::spawn_blocking(move || shell(&command, &env_now))
                    .await
                    .expect("sh");
                env.insert(name, value.trim().to_owned());
            }
            Step::Curl {
                command,
                status,
                captures,
            } => {
                let body_file = format!("{dir}/body");
                let run = format!("{command} -o {body_file} -w '%{{http_code}}'");
                let code = tokio::task::spawn_blocking(move || shell(&run, &env_now))
                    .await
                    .expect("curl");
                let body = std::fs::read_to_string(&body_file).unwrap_or_default();
                assert_eq!(code.trim(), status.to_string(), "{command}\n→ {body}");
                let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                for (name, path) in captures {
                    let v = field(&json, &path).unwrap_or_else(|| panic!("{path} in {body}"));
                    env.insert(name, v);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
crate::both!(curl_examples, super::the_examples_do_what_they_say);

fn tempfile_dir() -> String {
    let dir = std::env::temp_dir().join(format!(
        "kembali-api-md-{}-{}",
        std::process::id(),
        kembali_store::entropy()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.to_string_lossy().into_owned()
}

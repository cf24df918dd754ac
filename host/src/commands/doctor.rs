//! `snakebridge doctor`: what snakebridge finds on this machine, and what to fix.

use std::process::Command;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use wait_timeout::ChildExt;

use crate::introspect::MANAGED_DIR;
use crate::project::Project;
use crate::settings::Python;
use crate::{lock, manifest};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warning,
    Problem,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(
    name: impl Into<String>,
    status: Status,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Check {
    Check {
        name: name.into(),
        status,
        detail: detail.into(),
        fix,
    }
}

/// Runs `python` with a short script; `None` when it cannot run.
fn python_json(python: &str, script: &str, arg: &str) -> Option<serde_json::Value> {
    let mut child = Command::new(python)
        .args(["-c", script, arg])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    if child.wait_timeout(Duration::from_secs(30)).ok()?.is_none() {
        let _ = child.kill();
        return None;
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut out).ok()?;
    serde_json::from_str(&out).ok()
}

const VERSIONS: &str = r#"
import json, sys, platform, importlib.metadata as m
out = {"python": platform.python_version(), "packages": {}}
for name, dist in json.loads(sys.argv[1]).items():
    try:
        out["packages"][name] = m.version(dist)
    except Exception:
        out["packages"][name] = None
print(json.dumps(out))
"#;

pub fn run(project: &Project) -> Vec<Check> {
    let config = &project.config;
    let mut checks = vec![check(
        "config",
        Status::Ok,
        format!("{} libraries configured", config.libraries.len()),
        None,
    )];

    let manifest = manifest::load(&project.root);
    let lock = lock::load(&project.root);
    match (&manifest, &lock) {
        (Ok(manifest), Ok(Some(_))) => checks.push(check(
            "manifest and lock",
            Status::Ok,
            format!(
                "{} symbols generated",
                manifest
                    .libraries
                    .values()
                    .map(|r| r.symbols.len())
                    .sum::<usize>()
            ),
            None,
        )),
        (Ok(_), Ok(None)) => checks.push(check(
            "manifest and lock",
            Status::Warning,
            "nothing generated yet",
            Some("run `snakebridge generate`".into()),
        )),
        (Err(e), _) => checks.push(check(
            "manifest",
            Status::Problem,
            e.to_string(),
            Some("restore it from version control".into()),
        )),
        (_, Err(e)) => checks.push(check(
            "lock",
            Status::Problem,
            e.to_string(),
            Some("restore it from version control".into()),
        )),
    }
    let lock = lock.ok().flatten();

    // Python: which one, and whether it runs.
    let (python, source) = match &project.settings.python {
        Python::Given { path, from } => (path.display().to_string(), format!("from `{from}`")),
        Python::Managed => (
            project
                .root
                .join(MANAGED_DIR)
                .join("bin/python")
                .display()
                .to_string(),
            "managed by snakebridge".into(),
        ),
    };
    let uv = Command::new("uv")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success());
    match &uv {
        Some(out) => checks.push(check(
            "uv",
            Status::Ok,
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            None,
        )),
        None if project.settings.python == Python::Managed => checks.push(check(
            "uv",
            Status::Problem,
            "not found; it creates the managed environment",
            Some("`pip install uv`".into()),
        )),
        None => checks.push(check(
            "uv",
            Status::Ok,
            "not needed: a Python is configured",
            None,
        )),
    }
    let distributions: serde_json::Map<String, serde_json::Value> = config
        .libraries
        .values()
        .filter(|l| !l.stdlib && l.path.is_none())
        .map(|l| {
            (
                l.name.clone(),
                json!(l.package.clone().unwrap_or_else(|| l.name.clone())),
            )
        })
        .collect();
    let found = python_json(
        &python,
        VERSIONS,
        &serde_json::Value::Object(distributions).to_string(),
    );
    match &found {
        Some(info) => checks.push(check(
            "python",
            Status::Ok,
            format!(
                "{python} ({source}), Python {}",
                info["python"].as_str().unwrap_or("?")
            ),
            None,
        )),
        None if project.settings.python == Python::Managed => checks.push(check(
            "python",
            Status::Warning,
            format!("the managed environment does not exist yet ({python})"),
            Some("`snakebridge generate` creates it when it needs Python".into()),
        )),
        None => checks.push(check(
            "python",
            Status::Problem,
            format!("{python} ({source}) does not run"),
            Some("install Python 3 or fix `[python] executable`".into()),
        )),
    }

    // Library versions: configured, locked, installed.
    for library in config.libraries.values() {
        let locked = lock.as_ref().and_then(|l| l.libraries.get(&library.name));
        let installed = match (library.stdlib, &library.path, &found) {
            (true, _, Some(info)) => info["python"].as_str().map(str::to_string),
            (_, Some(_), _) => Some("local".into()),
            (false, None, Some(info)) => {
                info["packages"][&library.name].as_str().map(str::to_string)
            }
            _ => None,
        };
        let name = format!("library `{}`", library.name);
        let detail = format!(
            "requested {}, locked {}, installed {}",
            library.requested(),
            locked.map_or("-", |l| l.resolved.as_str()),
            installed.as_deref().unwrap_or("-")
        );
        let unmet = installed.as_deref().and_then(|v| library.unmet(v));
        let status = match (locked, &installed) {
            _ if unmet.is_some() => check(
                name,
                Status::Problem,
                detail,
                unmet.and_then(|problem| problem.help),
            ),
            (Some(l), Some(i)) if l.resolved == *i || library.path.is_some() => {
                check(name, Status::Ok, detail, None)
            }
            (Some(l), Some(_)) => check(
                name,
                Status::Warning,
                detail,
                Some(format!(
                    "the bindings were generated from {}; install that version, or run `snakebridge generate --force --library {}` to regenerate",
                    l.resolved, library.name
                )),
            ),
            (_, None) if found.is_some() => check(
                name,
                Status::Problem,
                detail,
                Some(format!(
                    "install it: `{python} -m pip install {}`",
                    library.package.as_deref().unwrap_or(&library.name)
                )),
            ),
            _ => check(name, Status::Ok, detail, None),
        };
        checks.push(status);
    }

    // The output directory must be writable, by the rules a run writes by.
    match crate::output::probe_writable(&project.root, &config.output) {
        Ok(()) => checks.push(check(
            "output",
            Status::Ok,
            format!("`{}` is writable", config.output),
            None,
        )),
        Err(e) => checks.push(check(
            "output",
            Status::Problem,
            e.to_string(),
            Some("fix the permissions or `[project] output`".into()),
        )),
    }

    // Plugins, against the lock.
    match project.pipeline(None) {
        Ok(pipeline) => {
            for plugin in pipeline.plugins() {
                let stage = plugin.stage.name();
                let pinned = lock.as_ref().and_then(|l| l.plugins.get(stage));
                let detail = format!(
                    "`{}` contract {} blake3 {}",
                    plugin.name,
                    plugin.contract,
                    &plugin.blake3[..16]
                );
                checks.push(match pinned {
                    Some(entry) if entry.blake3 != plugin.blake3 => check(
                        format!("plugin {stage}"),
                        Status::Problem,
                        format!("{detail}, but the lock pins {}", &entry.blake3[..16.min(entry.blake3.len())]),
                        Some("regenerate with `snakebridge generate` and commit, or restore the pinned plugin".into()),
                    ),
                    _ => check(format!("plugin {stage}"), Status::Ok, detail, None),
                });
            }
        }
        Err(e) => checks.push(check("plugins", Status::Problem, e.to_string(), None)),
    }
    checks
}

pub fn report(project: &Project, checks: &[Check]) {
    project.printer.data(
        || {
            let mut out = String::new();
            for c in checks {
                let mark = match c.status {
                    Status::Ok => "ok     ",
                    Status::Warning => "warning",
                    Status::Problem => "problem",
                };
                out += &format!("{mark}  {:<24} {}\n", c.name, c.detail);
                if let Some(fix) = &c.fix {
                    out += &format!("         {:<24} fix: {fix}\n", "");
                }
            }
            out
        },
        || json!({ "checks": checks }),
    );
}

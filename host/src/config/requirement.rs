//! Version requirements: Elixir's `~> 2.0` and PEP 440's `~=2.0` both accepted, PEP 440 out.

use std::fmt;

/// A library version requirement as the user wrote it and as pip understands it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub original: String,
    pub pep440: String,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Why a requirement did not parse, for the config error's help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequirementError(pub String);

const OPERATORS: &[&str] = &["~>", "~=", "===", "==", "!=", ">=", "<=", ">", "<"];

impl Requirement {
    pub fn parse(text: &str) -> Result<Self, RequirementError> {
        let original = text.trim().to_string();
        if original.is_empty() {
            return Err(RequirementError("the requirement is empty".into()));
        }
        if original.split_whitespace().any(|word| word == "or") {
            return Err(RequirementError(
                "`or` has no pip equivalent; use one range such as `>= 1.2 and < 3.0`".into(),
            ));
        }
        let clauses: Vec<&str> = if original.contains(" and ") {
            original.split(" and ").collect()
        } else {
            original.split(',').collect()
        };
        let pep440 = clauses
            .iter()
            .map(|clause| translate(clause.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            original,
            pep440: pep440.join(","),
        })
    }
}

impl Requirement {
    /// Whether an installed `version` meets the requirement, by PEP 440's rules (what pip and
    /// uv apply when they choose what to install). A version that does not parse meets it:
    /// this check refuses only what is certainly wrong.
    pub fn matches(&self, version: &str) -> bool {
        let Some(installed) = Version::parse(version) else {
            return true;
        };
        self.pep440.split(',').all(|clause| {
            let (operator, wanted) = OPERATORS
                .iter()
                .find_map(|op| clause.strip_prefix(op).map(|rest| (*op, rest)))
                .unwrap_or(("==", clause));
            if let Some(prefix) = wanted.strip_suffix(".*") {
                let Some(prefix) = Version::parse(prefix) else {
                    return true;
                };
                let within = installed.release_starts_with(&prefix.release);
                return if operator == "!=" { !within } else { within };
            }
            let Some(wanted) = Version::parse(wanted) else {
                return true;
            };
            let order = installed.cmp(&wanted);
            match operator {
                "==" | "===" => order.is_eq(),
                "!=" => order.is_ne(),
                ">=" => order.is_ge(),
                "<=" => order.is_le(),
                // Exclusive bounds leave out the bound's own pre-releases too.
                ">" => order.is_gt() && !installed.release_starts_with(&wanted.release),
                "<" => {
                    order.is_lt()
                        && !(installed.pre.is_some()
                            && installed.release_starts_with(&wanted.release))
                }
                "~=" => {
                    let mut upper = wanted.release[..wanted.release.len() - 1].to_vec();
                    if let Some(last) = upper.last_mut() {
                        *last += 1;
                    }
                    order.is_ge() && installed.release < upper
                }
                _ => true,
            }
        })
    }
}

/// Release numbers without trailing zeros, then the pre-, post- and dev-release ranks.
type OrderKey = (Vec<u64>, (u8, u64), (u8, u64), (u8, u64));

/// A PEP 440 version, enough of it to order releases: the release numbers, then a
/// pre-release (`a`, `b`, `rc`), a post-release and a dev-release. Local parts are ignored.
#[derive(Debug, PartialEq, Eq)]
struct Version {
    release: Vec<u64>,
    /// `(0 | 1 | 2, n)` for a, b, rc.
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

impl Version {
    fn parse(text: &str) -> Option<Version> {
        let text = text.trim().to_ascii_lowercase();
        let text = text.split('+').next()?;
        let text = text.strip_prefix('v').unwrap_or(text);
        let end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let release: Vec<u64> = text[..end]
            .trim_end_matches('.')
            .split('.')
            .map(|n| n.parse().ok())
            .collect::<Option<_>>()?;
        let mut rest = text[end..].trim_start_matches(['.', '-', '_']);
        let number = |rest: &mut &str| -> u64 {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let n = rest[..digits].parse().unwrap_or(0);
            *rest = rest[digits..].trim_start_matches(['.', '-', '_']);
            n
        };
        let mut version = Version {
            release,
            pre: None,
            post: None,
            dev: None,
        };
        for (tag, rank) in [
            ("alpha", 0),
            ("a", 0),
            ("beta", 1),
            ("b", 1),
            ("rc", 2),
            ("c", 2),
        ] {
            if let Some(after) = rest.strip_prefix(tag) {
                rest = after;
                version.pre = Some((rank, number(&mut rest)));
                break;
            }
        }
        if let Some(after) = rest.strip_prefix("post") {
            rest = after;
            version.post = Some(number(&mut rest));
        }
        if let Some(after) = rest.strip_prefix("dev") {
            rest = after;
            version.dev = Some(number(&mut rest));
        }
        rest.is_empty().then_some(version)
    }

    fn release_starts_with(&self, prefix: &[u64]) -> bool {
        prefix
            .iter()
            .enumerate()
            .all(|(i, n)| self.release.get(i).copied().unwrap_or(0) == *n)
    }

    /// PEP 440's order: a dev-release before its pre-releases, pre-releases before the
    /// release, post-releases after it.
    fn key(&self) -> OrderKey {
        let mut release = self.release.clone();
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let pre = match (self.pre, self.post, self.dev) {
            (Some((rank, n)), _, _) => (1 + rank, n),
            (None, None, Some(_)) => (0, 0),
            _ => (9, 0),
        };
        let post = self.post.map_or((0, 0), |n| (1, n));
        let dev = self.dev.map_or((1, 0), |n| (0, n));
        (release, pre, post, dev)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

fn translate(clause: &str) -> Result<String, RequirementError> {
    let (operator, version) = OPERATORS
        .iter()
        .find_map(|op| clause.strip_prefix(op).map(|rest| (*op, rest.trim())))
        .unwrap_or(("==", clause));
    let operator = if operator == "~>" { "~=" } else { operator };
    let valid = !version.is_empty()
        && version.split('.').enumerate().all(|(i, part)| {
            (part == "*" && i > 0 && operator == "==")
                || (part.starts_with(|c: char| c.is_ascii_digit())
                    && part.chars().all(|c| c.is_ascii_alphanumeric()))
        });
    if !valid {
        return Err(RequirementError(format!(
            "`{clause}` is not a version constraint such as `~> 2.0` or `>=1.26`"
        )));
    }
    if operator == "~=" && !version.contains('.') {
        return Err(RequirementError(format!(
            "`{clause}` needs at least two version parts, such as `~> {version}.0`"
        )));
    }
    Ok(format!("{operator}{version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elixir_and_pep440_forms() {
        for (input, expected) in [
            ("~> 2.0", "~=2.0"),
            ("~> 1.26.4", "~=1.26.4"),
            ("~=2.0", "~=2.0"),
            (">= 1.0 and < 2.0", ">=1.0,<2.0"),
            (">=1.0,<2.0", ">=1.0,<2.0"),
            ("2.4.6", "==2.4.6"),
            ("== 2.4.6", "==2.4.6"),
            ("==2.*", "==2.*"),
            ("!= 1.0", "!=1.0"),
        ] {
            assert_eq!(
                Requirement::parse(input).map(|r| r.pep440),
                Ok(expected.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn matches_installed_versions_as_pip_would() {
        for (requirement, version, expected) in [
            ("~> 1.0", "2.4.6", false),
            ("~> 2.0", "2.4.6", true),
            ("~> 2.4.1", "2.5.0", false),
            ("~> 2.4.1", "2.4.9", true),
            (">= 2.0", "1.14.0", false),
            (">= 2.0", "2.0", true),
            (">= 2.0 and < 1.0", "1.5", false),
            (">= 1.13", "1.17.1", true),
            ("< 2.0", "2.0rc1", false),
            ("< 2.0", "1.9.9", true),
            ("> 2.0", "2.0.post1", false),
            ("==2.*", "2.4.6", true),
            ("==2.*", "3.0", false),
            ("!= 1.0", "1.0.0", false),
            ("2.4.6", "2.4.6", true),
            (">= 2.0", "2.0.0.dev1", false),
            (">= 2.0", "not a version", true),
        ] {
            assert_eq!(
                Requirement::parse(requirement).unwrap().matches(version),
                expected,
                "{requirement} {version}"
            );
        }
    }

    #[test]
    fn rejects_what_pip_cannot_express() {
        for input in ["", "latest", "~> 2", "1.0 or 2.0", ">= ", "~> 2.x"] {
            assert!(Requirement::parse(input).is_err(), "{input}");
        }
    }
}

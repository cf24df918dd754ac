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
    fn rejects_what_pip_cannot_express() {
        for input in ["", "latest", "~> 2", "1.0 or 2.0", ">= ", "~> 2.x"] {
            assert!(Requirement::parse(input).is_err(), "{input}");
        }
    }
}

//! Which rows a bench run measures: the names given on the command line (`cargo bench ... --
//! stages`), matched as substrings, or every row when none is given.

/// A test for row names, from the command line.
pub(crate) fn selected() -> impl Fn(&str) -> bool {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    move |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()))
}

//! The arity model: which call-site arities one wrapper covers.
//!
//! A wrapper takes the object reference (methods and properties), then the required
//! positionals, then optional positionals one clause at a time, then a trailing keyword list
//! for keyword arguments and runtime options. So `numpy.mean(a, axis=None, ...)` covers
//! `Numpy.mean(a)` and `Numpy.mean(a, axis: 0)` alike. With `*args` the range is open: clauses
//! are generated for [`VARIADIC_EXTRA`] extra positionals, or as many as the project's calls
//! need.

use crate::model::{ArityRange, Signature, SymbolKind};

/// Extra positionals generated for `*args` before any call asks for more.
pub const VARIADIC_EXTRA: u32 = 8;

/// Counts of a signature's positional parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Positionals {
    pub required: u32,
    pub optional: u32,
    pub variadic: bool,
}

impl Positionals {
    pub fn of(signature: &Signature) -> Self {
        let mut counts = Self {
            required: 0,
            optional: 0,
            variadic: false,
        };
        for param in &signature.params {
            if param.kind.is_positional() {
                if param.is_required() {
                    counts.required += 1;
                } else {
                    counts.optional += 1;
                }
            } else if param.kind == crate::model::ParamKind::VarPositional {
                counts.variadic = true;
            }
        }
        counts
    }
}

/// The range a fresh symbol covers.
pub fn range(kind: SymbolKind, signature: &Signature) -> ArityRange {
    let reference = u32::from(kind.takes_ref());
    match kind {
        // The reference and the value: a setter takes no options.
        SymbolKind::Setter => ArityRange {
            min: 2,
            max: 2,
            open: false,
        },
        SymbolKind::Property | SymbolKind::Constant => ArityRange {
            min: reference,
            max: reference + 1,
            open: false,
        },
        _ => {
            let counts = Positionals::of(signature);
            let extra = if counts.variadic { VARIADIC_EXTRA } else { 0 };
            ArityRange {
                min: reference + counts.required,
                max: reference + counts.required + counts.optional + extra + 1,
                open: counts.variadic,
            }
        }
    }
}

/// Widens an open range so it covers `arity`; `None` when the range is closed and does not.
pub fn widen(range: ArityRange, arity: u32) -> Option<ArityRange> {
    if range.covers(arity) {
        Some(range)
    } else if range.open && arity > range.max {
        Some(ArityRange {
            max: arity,
            ..range
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Param, ParamKind, SignatureSource};

    fn sig(params: &[(&str, ParamKind, bool)]) -> Signature {
        Signature {
            params: params
                .iter()
                .map(|(name, kind, required)| Param {
                    python_name: (*name).into(),
                    elixir_name: (*name).into(),
                    kind: *kind,
                    default: (!required).then(|| "None".into()),
                    annotation: None,
                })
                .collect(),
            returns: None,
            source: SignatureSource::Inspect,
        }
    }

    #[test]
    fn mean_covers_positional_and_keyword_calls() {
        use ParamKind::*;
        let mean = sig(&[
            ("a", PositionalOrKeyword, true),
            ("axis", PositionalOrKeyword, false),
            ("dtype", PositionalOrKeyword, false),
            ("where", KeywordOnly, false),
        ]);
        let r = range(SymbolKind::Function, &mean);
        assert_eq!(
            r,
            ArityRange {
                min: 1,
                max: 4,
                open: false
            }
        );
        assert!(r.covers(1) && r.covers(2) && !r.covers(0) && !r.covers(5));
    }

    #[test]
    fn methods_count_the_reference_and_args_open_the_range() {
        use ParamKind::*;
        let most_common = sig(&[("n", PositionalOrKeyword, false)]);
        assert_eq!(
            range(SymbolKind::Method, &most_common),
            ArityRange {
                min: 1,
                max: 3,
                open: false
            }
        );
        let hypot = sig(&[("coordinates", VarPositional, true)]);
        let r = range(SymbolKind::Function, &hypot);
        assert_eq!(
            r,
            ArityRange {
                min: 0,
                max: 9,
                open: true
            }
        );
        assert_eq!(
            widen(r, 12),
            Some(ArityRange {
                min: 0,
                max: 12,
                open: true
            })
        );
        assert_eq!(widen(range(SymbolKind::Method, &most_common), 4), None);
        assert_eq!(
            range(SymbolKind::Property, &Signature::variadic_fallback()),
            ArityRange {
                min: 1,
                max: 2,
                open: false
            }
        );
    }
}

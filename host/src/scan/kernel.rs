//! Names an unqualified call can resolve to without any `import` of a library: Kernel's
//! functions and macros, the special forms, and what `use ExUnit.Case` imports. A call under a
//! broad `import Numpy` is attributed to `Numpy` only when it is none of these.
//!
//! Generated from Elixir 1.14 with `Kernel.__info__/1` and friends; names added since then are
//! listed at the end.

/// `(name, arity)` pairs of `Kernel` and `Kernel.SpecialForms`.
#[rustfmt::skip]
pub(crate) const KERNEL: &[(&str, u32)] = &[
    ("__CALLER__", 0), ("__DIR__", 0), ("__ENV__", 0), ("__MODULE__", 0), ("__STACKTRACE__", 0), ("__aliases__", 1),
    ("__block__", 1), ("abs", 1), ("alias", 2), ("alias!", 1), ("and", 2), ("apply", 2),
    ("apply", 3), ("binary_part", 3), ("binary_slice", 2), ("binary_slice", 3), ("binding", 0), ("binding", 1),
    ("bit_size", 1), ("byte_size", 1), ("case", 2), ("ceil", 1), ("cond", 1), ("dbg", 0),
    ("dbg", 1), ("dbg", 2), ("def", 1), ("def", 2), ("defdelegate", 2), ("defexception", 1),
    ("defguard", 1), ("defguardp", 1), ("defimpl", 2), ("defimpl", 3), ("defmacro", 1), ("defmacro", 2),
    ("defmacrop", 1), ("defmacrop", 2), ("defmodule", 2), ("defoverridable", 1), ("defp", 1), ("defp", 2),
    ("defprotocol", 2), ("defstruct", 1), ("destructure", 2), ("div", 2), ("elem", 2), ("exit", 1),
    ("floor", 1), ("fn", 1), ("for", 1), ("function_exported?", 3), ("get_and_update_in", 2), ("get_and_update_in", 3),
    ("get_in", 2), ("hd", 1), ("if", 2), ("import", 2), ("in", 2), ("inspect", 1),
    ("inspect", 2), ("is_atom", 1), ("is_binary", 1), ("is_bitstring", 1), ("is_boolean", 1), ("is_exception", 1),
    ("is_exception", 2), ("is_float", 1), ("is_function", 1), ("is_function", 2), ("is_integer", 1), ("is_list", 1),
    ("is_map", 1), ("is_map_key", 2), ("is_nil", 1), ("is_number", 1), ("is_pid", 1), ("is_port", 1),
    ("is_reference", 1), ("is_struct", 1), ("is_struct", 2), ("is_tuple", 1), ("length", 1), ("macro_exported?", 3),
    ("make_ref", 0), ("map_size", 1), ("match?", 2), ("max", 2), ("min", 2), ("node", 0),
    ("node", 1), ("not", 1), ("or", 2), ("pop_in", 1), ("pop_in", 2), ("put_elem", 3),
    ("put_in", 2), ("put_in", 3), ("quote", 2), ("raise", 1), ("raise", 2), ("receive", 1),
    ("rem", 2), ("require", 2), ("reraise", 2), ("reraise", 3), ("round", 1), ("self", 0),
    ("send", 2), ("sigil_C", 2), ("sigil_D", 2), ("sigil_N", 2), ("sigil_R", 2), ("sigil_S", 2),
    ("sigil_T", 2), ("sigil_U", 2), ("sigil_W", 2), ("sigil_c", 2), ("sigil_r", 2), ("sigil_s", 2),
    ("sigil_w", 2), ("spawn", 1), ("spawn", 3), ("spawn_link", 1), ("spawn_link", 3), ("spawn_monitor", 1),
    ("spawn_monitor", 3), ("struct", 1), ("struct", 2), ("struct!", 1), ("struct!", 2), ("super", 1),
    ("tap", 2), ("then", 2), ("throw", 1), ("tl", 1), ("to_char_list", 1), ("to_charlist", 1),
    ("to_string", 1), ("trunc", 1), ("try", 1), ("tuple_size", 1), ("unless", 2), ("unquote", 1),
    ("unquote_splicing", 1), ("update_in", 2), ("update_in", 3), ("use", 1), ("use", 2), ("var!", 1),
    ("var!", 2), ("with", 1), ("quote", 1),
    // Added after Elixir 1.14.
    ("is_non_struct_map", 1), ("to_timeout", 1),
];

/// Special forms that take any number of arguments: `for x <- xs, y <- ys, do: ...`,
/// `with a <- f(), b <- g(a) do ... end`.
pub(crate) const ANY_ARITY: &[&str] = &["for", "with"];

/// `(name, arity)` pairs `use ExUnit.Case` imports.
#[rustfmt::skip]
pub(crate) const EXUNIT: &[(&str, u32)] = &[
    ("assert", 1), ("assert", 2), ("assert_in_delta", 3), ("assert_in_delta", 4), ("assert_raise", 2), ("assert_raise", 3),
    ("assert_receive", 1), ("assert_receive", 2), ("assert_receive", 3), ("assert_received", 1), ("assert_received", 2), ("catch_error", 1),
    ("catch_exit", 1), ("catch_throw", 1), ("describe", 2), ("doctest", 1), ("doctest", 2), ("flunk", 0),
    ("flunk", 1), ("on_exit", 1), ("on_exit", 2), ("refute", 1), ("refute", 2), ("refute_in_delta", 3),
    ("refute_in_delta", 4), ("refute_receive", 1), ("refute_receive", 2), ("refute_receive", 3), ("refute_received", 1), ("refute_received", 2),
    ("setup", 1), ("setup", 2), ("setup_all", 1), ("setup_all", 2), ("start_link_supervised!", 1), ("start_link_supervised!", 2),
    ("start_supervised", 1), ("start_supervised", 2), ("start_supervised!", 1), ("start_supervised!", 2), ("stop_supervised", 1), ("stop_supervised!", 1),
    ("test", 1), ("test", 2), ("test", 3),
];

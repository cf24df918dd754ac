use super::*;

fn calls(source: &str) -> Vec<String> {
    let modules = ["Numpy".to_string(), "Math".to_string()];
    let (calls, _) = scan_source("t.ex", source, &modules);
    calls
        .iter()
        .map(|c| format!("{} {}:{} {:?}", c.mfa(), c.line, c.column, c.kind))
        .collect()
}

#[test]
fn remote_pipe_capture() {
    let found = calls(
        "defmodule A do\n  def f(x), do: x |> Numpy.std() |> Numpy.mean(axis: 0)\n  def g, do: &Numpy.sum/1\nend\n",
    );
    assert_eq!(
        found,
        [
            "Numpy.mean/2 2:43 Pipe",
            "Numpy.std/1 2:27 Pipe",
            "Numpy.sum/1 3:22 Capture"
        ]
    );
}

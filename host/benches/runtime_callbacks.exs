# Run by `cargo bench -p snakebridge --bench runtime -- callbacks` inside the Elixir package:
#   mix run --no-compile runtime_callbacks.exs CALLS
# Prints one line per row: its name, then p50 and p99 in µs, one call at a time. The rows
# alternate call by call, so drift hits them alike.
[calls] = Enum.map(System.argv(), &String.to_integer/1)
Application.put_env(:snakebridge, :project_dir, System.fetch_env!("SNAKEBRIDGE_BENCH_PROJECT"))

defmodule BenchMath do
  def __snakebridge__, do: [library: "math", python_module: "math", class: nil]
end

defmodule BenchBuiltins do
  def __snakebridge__, do: [library: "builtins", python_module: "builtins", class: nil]
end

defmodule BenchFunctools do
  def __snakebridge__, do: [library: "functools", python_module: "functools", class: nil]
end

add = fn a, b -> a + b end

rows = [
  {"plain call, math.sqrt(2.0)",
   fn -> SnakeBridge.Runtime.call(BenchMath, "sqrt", [2.0], []) end},
  {"passing a function Python never calls, callable(f)",
   fn -> SnakeBridge.Runtime.call(BenchBuiltins, "callable", [add], []) end},
  {"functools.reduce(f, [1, 2]): 1 callback",
   fn -> SnakeBridge.Runtime.call(BenchFunctools, "reduce", [add, [1, 2]], []) end},
  {"functools.reduce(f, 1..11): 10 callbacks",
   fn -> SnakeBridge.Runtime.call(BenchFunctools, "reduce", [add, Enum.to_list(1..11)], []) end}
]

time = fn fun ->
  t = System.monotonic_time()
  {:ok, _} = fun.()
  System.monotonic_time() - t
end

for _ <- 1..200, {_, fun} <- rows, do: time.(fun)

times =
  for _ <- 1..calls, reduce: Map.new(rows, fn {name, _} -> {name, []} end) do
    acc ->
      Enum.reduce(rows, acc, fn {name, fun}, acc -> Map.update!(acc, name, &[time.(fun) | &1]) end)
  end

us = fn native -> System.convert_time_unit(native, :native, :nanosecond) / 1000 end

for {name, _} <- rows do
  sorted = Enum.sort(times[name])
  at = fn q -> Enum.at(sorted, trunc((length(sorted) - 1) * q)) end
  IO.puts("#{name}\t#{us.(at.(0.5))}\t#{us.(at.(0.99))}")
end

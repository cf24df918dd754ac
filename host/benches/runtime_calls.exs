# Run by `cargo bench -p snakebridge --bench runtime` inside the Elixir package:
#   mix run --no-compile runtime_calls.exs CALLS IN_FLIGHT
# Prints, for math.sqrt(2.0) through SnakeBridge.Runtime: p50 and p99 in µs and calls/s one
# call at a time, then the same with IN_FLIGHT callers.
[calls, in_flight] = Enum.map(System.argv(), &String.to_integer/1)
Application.put_env(:snakebridge, :project_dir, System.fetch_env!("SNAKEBRIDGE_BENCH_PROJECT"))

defmodule BenchMath do
  # What a generated module tells the runtime.
  def __snakebridge__, do: [library: "math", python_module: "math", class: nil]
end

defmodule Bench do
  def call do
    t = System.monotonic_time()
    {:ok, _} = SnakeBridge.Runtime.call(BenchMath, "sqrt", [2.0], [])
    System.monotonic_time() - t
  end

  def report(times, total) do
    sorted = Enum.sort(times)
    at = fn q -> Enum.at(sorted, trunc((length(sorted) - 1) * q)) end
    us = fn native -> System.convert_time_unit(native, :native, :nanosecond) / 1000 end
    seconds = System.convert_time_unit(total, :native, :nanosecond) / 1.0e9
    IO.write("#{us.(at.(0.5))} #{us.(at.(0.99))} #{length(times) / seconds} ")
  end
end

for _ <- 1..200, do: Bench.call()

start = System.monotonic_time()
times = for _ <- 1..calls, do: Bench.call()
Bench.report(times, System.monotonic_time() - start)

start = System.monotonic_time()

times =
  1..in_flight
  |> Task.async_stream(fn _ -> for _ <- 1..div(calls, in_flight), do: Bench.call() end,
    max_concurrency: in_flight,
    timeout: :infinity
  )
  |> Enum.flat_map(fn {:ok, times} -> times end)

Bench.report(times, System.monotonic_time() - start)

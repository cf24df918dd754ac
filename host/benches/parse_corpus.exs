# The scan benchmark's baseline: Elixir's own parser, `Code.string_to_quoted/2`, on the same
# files, one process per scheduler and then in one process.
#
#     elixir parse_corpus.exs FILE_LIST

[list] = System.argv()
files = list |> File.read!() |> String.split("\n", trim: true)
sources = Enum.map(files, &File.read!/1)
bytes = sources |> Enum.map(&byte_size/1) |> Enum.sum()

parse = fn source ->
  case Code.string_to_quoted(source, columns: true) do
    {:ok, _} -> :ok
    {:error, _} -> :error
  end
end

time = fn fun ->
  for _ <- 1..3 do
    {us, result} = :timer.tc(fun)
    {us, result}
  end
  |> Enum.sort()
  |> Enum.at(1)
end

{parallel_us, results} =
  time.(fn ->
    sources
    |> Task.async_stream(parse, ordered: false, timeout: :infinity)
    |> Enum.map(fn {:ok, r} -> r end)
  end)

{serial_us, _} = time.(fn -> Enum.map(sources, parse) end)
errors = Enum.count(results, &(&1 == :error))
mb = bytes / 1.0e6

IO.puts(
  String.pad_trailing("Code.string_to_quoted/2, #{System.schedulers_online()} schedulers", 48) <>
    " median #{Float.round(parallel_us / 1000, 2)} ms  #{Float.round(mb / (parallel_us / 1.0e6), 1)} MB/s" <>
    "  (#{errors} files it cannot parse)"
)

IO.puts(
  String.pad_trailing("Code.string_to_quoted/2, one process", 48) <>
    " median #{Float.round(serial_us / 1000, 2)} ms  #{Float.round(mb / (serial_us / 1.0e6), 1)} MB/s"
)

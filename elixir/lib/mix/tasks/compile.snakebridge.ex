defmodule Mix.Tasks.Compile.Snakebridge do
  @shortdoc "Generates snakebridge bindings (or verifies them, when strict) before Elixir compiles"
  @moduledoc """
  Runs `snakebridge generate` in the project, so the bindings for every Python call in the
  source exist before the Elixir compiler needs them. Add it before Elixir's compilers:

      def project do
        [compilers: [:snakebridge] ++ Mix.compilers(), ...]
      end

  With `SNAKEBRIDGE_STRICT=1` (or `config :snakebridge, strict: true`) it verifies instead:
  it never starts Python and fails if the committed bindings are not exactly what the
  source, manifest and lock produce; that is the mode for CI. `SNAKEBRIDGE_SKIP=1` skips
  it. A project without `snakebridge.toml` has nothing to do.

  Each problem is printed, and returned as a diagnostic at the file and line it is about
  (the call in `lib/`, or the line of `snakebridge.toml`), so editors mark the call.
  """

  use Mix.Task.Compiler

  @impl true
  def run(_args) do
    if File.exists?("snakebridge.toml") and not skip?() do
      generate()
    else
      {:noop, []}
    end
  end

  defp generate do
    strict = if Application.get_env(:snakebridge, :strict, false), do: ["--strict"], else: []

    case SnakeBridge.Binary.path() do
      {:ok, binary} ->
        case System.cmd(binary, ["generate", "--quiet", "--format", "json"] ++ strict) do
          {_output, 0} ->
            {:ok, []}

          {output, status} ->
            diagnostics = diagnostics(output, status)
            Enum.each(diagnostics, &Mix.shell().error(render(&1)))
            {:error, diagnostics}
        end

      {:error, message} ->
        # Mix 1.14 does not print a compiler's diagnostics itself.
        diagnostic = diagnostic(message)
        Mix.shell().error(render(diagnostic))
        {:error, [diagnostic]}
    end
  end

  # One diagnostic per problem (`generate`) or finding (`verify`), at its place.
  defp diagnostics(output, status) do
    with {:ok, report} when is_map(report) <- SnakeBridge.JSON.decode(output),
         [_ | _] = problems <- report["problems"] || report["findings"] do
      Enum.map(problems, &problem/1)
    else
      _ -> [diagnostic("snakebridge generate failed (exit #{status}):\n" <> output)]
    end
  end

  defp problem(problem) do
    message =
      [problem["message"], problem["help"] && "help: " <> problem["help"], problem["diff"]]
      |> Enum.reject(&is_nil/1)
      |> Enum.join("\n")

    %Mix.Task.Compiler.Diagnostic{
      compiler_name: "snakebridge",
      file: Path.absname(problem["file"] || "snakebridge.toml"),
      position: position(problem["line"], problem["column"]),
      message: message,
      severity: :error
    }
  end

  defp position(line, column) when is_integer(line) and is_integer(column), do: {line, column}
  defp position(line, _) when is_integer(line), do: line
  defp position(_, _), do: nil

  defp render(%Mix.Task.Compiler.Diagnostic{file: file, position: position, message: message}) do
    place =
      case position do
        {line, column} -> ":#{line}:#{column}"
        line when is_integer(line) -> ":#{line}"
        nil -> ""
      end

    "snakebridge: #{Path.relative_to_cwd(file)}#{place}: #{message}"
  end

  defp skip? do
    System.get_env("SNAKEBRIDGE_SKIP", "")
    |> String.downcase()
    |> Kernel.in(["1", "true", "yes", "on"])
  end

  defp diagnostic(message) do
    %Mix.Task.Compiler.Diagnostic{
      compiler_name: "snakebridge",
      file: Path.absname("snakebridge.toml"),
      position: nil,
      message: message,
      severity: :error
    }
  end
end

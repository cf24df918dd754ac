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
        case System.cmd(binary, ["generate", "--quiet"] ++ strict, stderr_to_stdout: true) do
          {_output, 0} ->
            {:ok, []}

          {output, status} ->
            Mix.shell().error(output)
            {:error, [diagnostic("snakebridge generate failed (exit #{status}):\n" <> output)]}
        end

      {:error, message} ->
        {:error, [diagnostic(message)]}
    end
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

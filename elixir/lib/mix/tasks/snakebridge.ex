defmodule Mix.Tasks.Snakebridge do
  @moduledoc false
  # The `mix snakebridge.*` tasks: each runs the binary's command of the same name in the
  # project, with the task's arguments, and fails with its exit status.

  @doc false
  def run(command, args) do
    case SnakeBridge.Binary.path() do
      {:ok, binary} ->
        {_, status} =
          System.cmd(binary, [command | args],
            into: IO.stream(:stdio, :line),
            stderr_to_stdout: true
          )

        if status != 0, do: exit({:shutdown, status})

      {:error, message} ->
        Mix.raise(message)
    end
  end
end

for {command, shortdoc} <- [
      {"init", "Writes a commented snakebridge.toml"},
      {"scan", "Lists the calls into configured Python libraries"},
      {"generate", "Generates bindings for every Python symbol the source calls"},
      {"verify", "Checks, without Python, that the committed bindings are current"},
      {"analyze", "Lists generated symbols, where they are used, and unused ones"},
      {"prune", "Removes generated symbols the source no longer uses"},
      {"ledger", "Lists recorded dynamic calls"},
      {"promote", "Generates bindings for recorded dynamic calls"},
      {"doc", "Shows a generated symbol's documentation"},
      {"doctor", "Reports the Python, libraries and plugins snakebridge finds"},
      {"plugin", "Starts, builds or checks a stage plugin of your own"}
    ] do
  module = Module.concat(Mix.Tasks.Snakebridge, Macro.camelize(command))

  defmodule module do
    use Mix.Task
    @shortdoc shortdoc
    @moduledoc "#{shortdoc}: runs `snakebridge #{command}` with the given arguments."
    @command command

    @impl true
    def run(args), do: Mix.Tasks.Snakebridge.run(@command, args)
  end
end

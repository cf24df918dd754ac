defmodule SnakeBridge.Binary do
  @moduledoc """
  Finds the `snakebridge` executable: `config :snakebridge, binary: path`, then
  `$SNAKEBRIDGE_BIN`, then `snakebridge` on `PATH`.
  """

  @doc "The executable's path, or why there is none."
  @spec path() :: {:ok, String.t()} | {:error, String.t()}
  def path do
    configured = Application.get_env(:snakebridge, :binary) || System.get_env("SNAKEBRIDGE_BIN")

    cond do
      configured && File.regular?(configured) ->
        {:ok, Path.expand(configured)}

      configured ->
        {:error, "the snakebridge binary `#{configured}` does not exist"}

      found = System.find_executable("snakebridge") ->
        {:ok, found}

      true ->
        {:error,
         "the snakebridge binary is not on PATH; install it (`cargo install --path host`) " <>
           "or set SNAKEBRIDGE_BIN or `config :snakebridge, binary: ...`"}
    end
  end
end

defmodule Conformance.MixProject do
  use Mix.Project

  # `scripts/conformance.sh` copies this project to a scratch directory, adds a
  # `snakebridge.toml` (`ci.toml` or `managed.toml`), generates every library whole and runs
  # `Conformance.Runner`.
  def project do
    [
      app: :conformance,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: [{:snakebridge, path: System.get_env("SNAKEBRIDGE_ELIXIR", "../../elixir")}]
    ]
  end

  def application, do: []
end

defmodule Demo.MixProject do
  use Mix.Project

  def project do
    [
      app: :demo,
      version: "0.1.0",
      elixir: "~> 1.14",
      # Bindings are generated (or, with SNAKEBRIDGE_STRICT=1, verified) before Elixir compiles.
      compilers: [:snakebridge] ++ Mix.compilers(),
      deps: [{:snakebridge, path: "../../elixir"}]
    ]
  end

  def application, do: []
end

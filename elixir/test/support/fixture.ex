defmodule RuntimeFixture do
  @moduledoc false
  # What a generated module tells the runtime about itself.
  def __snakebridge__,
    do: [library: "runtime_fixture", python_module: "runtime_fixture", class: nil]
end

defmodule RuntimeFixture.Counter do
  @moduledoc false
  def __snakebridge__,
    do: [library: "runtime_fixture", python_module: "runtime_fixture", class: "Counter"]
end

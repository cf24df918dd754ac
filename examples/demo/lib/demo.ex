defmodule Demo do
  @moduledoc """
  Calls into Python's `math`, `statistics`, `json` and numpy through the bindings snakebridge
  generated in `lib/snakebridge_generated/`: directly, through aliases and imports, in pipes
  and as captures.
  """

  alias Numpy.Linalg
  import Math, only: [sqrt: 1]

  @doc "Summary statistics of a list of numbers."
  def summary(numbers) do
    with {:ok, mean} <- Numpy.mean(numbers),
         {:ok, spread} <- Numpy.std(numbers, ddof: 1),
         {:ok, median} <- numbers |> Stats.median() do
      {:ok, %{mean: mean, std: spread, median: median}}
    end
  end

  @doc "The Euclidean length of a vector, two ways."
  def length_of(vector) do
    {Linalg.norm(vector), vector |> Enum.map(&(&1 * &1)) |> Enum.sum() |> sqrt()}
  end

  @doc "Logarithms of every number, with an optional base."
  def logs(numbers, base \\ nil) do
    case base do
      nil -> Enum.map(numbers, &Math.log/1)
      base -> Enum.map(numbers, &Math.log(&1, base))
    end
  end

  @doc "The numbers as JSON text."
  def to_json(numbers), do: Json.dumps(numbers, indent: 2)

  @doc "Python's constant π."
  def pi, do: Math.pi()
end

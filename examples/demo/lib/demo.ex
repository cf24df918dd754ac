defmodule Demo do
  @moduledoc """
  Calls into Python's `math`, `statistics`, `json`, numpy and the project's own
  `priv/python/shapes.py` through the bindings snakebridge generated in
  `lib/snakebridge_generated/`: directly, through aliases and imports, in pipes and as
  captures; with keyword arguments, objects that stay in Python, Elixir functions Python calls
  back, setters, a context manager and a generator.
  """

  alias Numpy.Linalg
  alias Shapes.Rectangle
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

  @doc """
  The sum of `count` evenly spaced numbers from 0 to 1. The array stays in Python: only a
  reference to it comes back, and goes to the next call.
  """
  def spaced_sum(count) do
    with {:ok, array} <- Numpy.linspace(0, 1, count) do
      Numpy.sum(array)
    end
  end

  @doc "A rectangle that lives in Python, scaled, then measured."
  def rectangle(width, height, factor) do
    with {:ok, rectangle} <- Rectangle.new(width, height),
         {:ok, area} <- Rectangle.scale(rectangle, factor),
         {:ok, perimeter} <- Rectangle.perimeter(rectangle) do
      {:ok, %{area: area, perimeter: perimeter}}
    end
  end

  @doc """
  The product of the numbers, folded by Python's `functools.reduce` with an Elixir function:
  Python calls it back for each step, in this process.
  """
  def product(numbers), do: Functools.reduce(fn a, b -> a * b end, numbers)

  @doc "Words sorted by Python, keyed by an Elixir capture."
  def by_length(words), do: Builtins.sorted(words, key: &String.length/1)

  @doc "A rectangle made wider through its generated setter."
  def widened(rectangle, width) do
    with {:ok, rectangle} <- Rectangle.set_width(rectangle, width) do
      Rectangle.area(rectangle)
    end
  end

  @doc """
  Adds rectangles to a Python `Outline` inside its `with` block: `__exit__` runs however
  the block ends.
  """
  def outline(rectangles) do
    {:ok, outline} = Shapes.Outline.new()

    SnakeBridge.with_python(outline, fn outline ->
      Enum.map(rectangles, &Shapes.Outline.add!(outline, &1))
    end)
  end

  @doc """
  The first `count` primes, from a Python generator consumed as a lazy Stream: its
  `_stream` wrapper fetches them in batches, and stops the generator when `Enum.take/2` is
  done.
  """
  def primes(count), do: Shapes.primes_stream() |> Enum.take(count)
end

defmodule DemoTest do
  use ExUnit.Case, async: true

  alias Shapes.Rectangle

  describe "the generated modules" do
    test "wrap exactly what the project calls" do
      assert {:mean, 1, 6} in Numpy.__functions__()
      assert {:sqrt, 1, 2} in Math.__functions__()
      assert Stats.__functions__() == [{:median, 1, 2}]
      assert Shapes.__classes__() == [Shapes.Outline, Shapes.Rectangle]
      assert {:primes_stream, 0, 1} in Shapes.__functions__()
    end

    test "carry the Python documentation" do
      assert Numpy.doc(:mean) =~ "arithmetic mean"
      assert [%{name: :sqrt} | _] = Math.__search__("sqrt")
    end
  end

  # Everything below runs real Python: `snakebridge runtime serve` and its workers.
  describe "calls into Python" do
    test "return values" do
      assert Numpy.mean([1, 2, 3]) == {:ok, 2.0}

      assert Demo.summary([1, 2, 3, 4]) ==
               {:ok, %{mean: 2.5, median: 2.5, std: 1.2909944487358056}}

      assert Demo.pi() == {:ok, :math.pi()}
      assert Demo.logs([1, 8], 2) == [{:ok, 0.0}, {:ok, 3.0}]
    end

    test "take keyword arguments" do
      assert Demo.to_json([1, 2]) == {:ok, "[\n  1,\n  2\n]"}
    end

    test "through imports, aliases and pipes" do
      assert Demo.length_of([3, 4]) == {{:ok, 5.0}, {:ok, 5.0}}
    end

    test "pass objects between calls by reference" do
      assert {:ok, %SnakeBridge.Ref{python_type: "numpy.ndarray"}} = Numpy.linspace(0, 1, 5)
      assert Demo.spaced_sum(5) == {:ok, 2.5}
    end

    test "create instances and call their methods and properties" do
      assert Demo.rectangle(2, 3, 2) == {:ok, %{area: 24, perimeter: 20}}
    end

    test "consume a generator as a Stream" do
      assert Demo.primes(8) == [2, 3, 5, 7, 11, 13, 17, 19]
    end

    test "pass Elixir functions that Python calls back" do
      assert Demo.product([1, 2, 3, 4]) == {:ok, 24}
      assert Demo.by_length(["ccc", "a", "bb"]) == {:ok, ["a", "bb", "ccc"]}
    end

    test "set attributes through generated setters" do
      {:ok, rectangle} = Rectangle.new(2, 3)
      assert Demo.widened(rectangle, 10) == {:ok, 30}
      assert Rectangle.width(rectangle) == {:ok, 10}
    end

    test "run a block inside a Python context manager" do
      {:ok, a} = Rectangle.new(1, 1)
      assert Demo.outline([a, a]) == [1, 2]

      {:ok, outline} = Shapes.Outline.new()

      assert_raise ArgumentError, "boom", fn ->
        SnakeBridge.with_python(outline, fn _ -> raise ArgumentError, "boom" end)
      end

      assert SnakeBridge.Runtime.get_attr(Shapes.Outline, outline, "ended", []) ==
               {:ok, "error: boom"}
    end

    test "return Python exceptions as errors, or raise them from bang variants" do
      assert {:error, %SnakeBridge.Error{python_type: "ValueError", message: "math domain error"}} =
               Math.sqrt(-1)

      assert_raise SnakeBridge.Error, "ValueError: math domain error", fn -> Math.sqrt!(-1) end
    end

    test "keep sessions apart" do
      mine = SnakeBridge.new_session()
      {:ok, rectangle} = Shapes.Rectangle.new(1, 1, __runtime__: [session: mine])
      assert Shapes.Rectangle.perimeter(rectangle) == {:ok, 4}

      other = SnakeBridge.new_session()

      assert {:error, %SnakeBridge.Error{python_type: "snakebridge.SessionMismatchError"}} =
               Shapes.Rectangle.perimeter(rectangle, __runtime__: [session: other])

      assert SnakeBridge.release_session(mine) == {:ok, 1}
    end
  end
end

defmodule DemoTest do
  use ExUnit.Case, async: true

  test "the generated modules wrap exactly what the project calls" do
    assert {:mean, 1, 6} in Numpy.__functions__()
    assert {:sqrt, 1, 2} in Math.__functions__()
    assert Stats.__functions__() == [{:median, 1, 2}]
    assert Numpy.__classes__() == []
  end

  test "wrappers carry the Python documentation" do
    assert Numpy.doc(:mean) =~ "arithmetic mean"
    assert [%{name: :sqrt} | _] = Math.__search__("sqrt")
  end

  test "every wrapper has a bang variant" do
    Code.ensure_loaded!(Numpy)
    Code.ensure_loaded!(Json)
    assert function_exported?(Numpy, :mean!, 1)
    assert function_exported?(Json, :dumps!, 2)
  end
end

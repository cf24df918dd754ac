defmodule SnakeBridge.Docs do
  @moduledoc """
  Documentation of generated modules, read from their compiled docs, for the
  `__search__/1` and `doc/1` functions every generated module has.
  """

  @doc "The documentation of `function` in `module`, or `nil`."
  @spec get(module(), atom()) :: String.t() | nil
  def get(module, function) when is_atom(function) do
    module
    |> function_docs()
    |> Enum.find_value(fn {{name, _arity}, doc} -> name == function && doc end)
  end

  @doc """
  The functions of `module` matching `query`, best first: an exact name, then a prefix,
  then a substring of the name or of the summary.
  """
  @spec search(module(), String.t()) :: [%{name: atom(), summary: String.t(), relevance: float()}]
  def search(module, query) when is_binary(query) do
    query = String.downcase(query)

    module
    |> function_docs()
    |> Enum.uniq_by(fn {{name, _}, _} -> name end)
    |> Enum.map(fn {{name, _arity}, doc} ->
      summary = doc |> String.split("\n", parts: 2) |> hd()
      %{name: name, summary: summary, relevance: relevance(Atom.to_string(name), summary, query)}
    end)
    |> Enum.filter(&(&1.relevance > 0))
    |> Enum.sort_by(&{-&1.relevance, &1.name})
  end

  defp relevance(name, summary, query) do
    cond do
      name == query -> 1.0
      String.starts_with?(name, query) -> 0.9
      String.contains?(name, query) -> 0.7
      String.contains?(String.downcase(summary), query) -> 0.4
      true -> 0.0
    end
  end

  defp function_docs(module) do
    case Code.fetch_docs(module) do
      {:docs_v1, _, _, _, _, _, docs} ->
        for {{:function, name, arity}, _, _, %{"en" => doc}, _} <- docs,
            not String.starts_with?(Atom.to_string(name), "__"),
            not String.ends_with?(Atom.to_string(name), "!"),
            do: {{name, arity}, doc}

      _ ->
        []
    end
  end
end

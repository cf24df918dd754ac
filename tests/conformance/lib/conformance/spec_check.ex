defmodule Conformance.SpecCheck do
  @moduledoc """
  Checks a value against the return type of a compiled function's `@spec`, so a wrapper whose
  spec promises what Python does not return fails the suite.

  Types are read from the beam (`Code.Typespec`); user and remote types are expanded from their
  modules. A type form the checker does not know is an error, never a pass.
  """

  @doc "`:ok`, or `{:error, reason}` when `value` is not of `module.function/arity`'s return type."
  def check(module, function, arity, value) do
    with {:ok, specs} <- fetch(module, &Code.Typespec.fetch_specs/1),
         {_, [{:type, _, :fun, [_args, returns]} | _]} <-
           List.keyfind(specs, {function, arity}, 0) || {:error, :no_spec} do
      if of_type?(value, returns, module, %{}) do
        :ok
      else
        {:error, "#{inspect(value, limit: 8)} is not #{describe(returns)}"}
      end
    else
      {:error, :no_spec} -> {:error, "#{inspect(module)}.#{function}/#{arity} has no @spec"}
      {:error, reason} -> {:error, reason}
      other -> {:error, "unexpected spec #{inspect(other)}"}
    end
  end

  defp fetch(module, reader) do
    case reader.(module) do
      {:ok, found} -> {:ok, found}
      :error -> {:error, "#{inspect(module)} has no type information in its beam"}
    end
  end

  defp describe(type) do
    type |> Code.Typespec.type_to_quoted() |> Macro.to_string()
  rescue
    _ -> inspect(type)
  end

  @doc false
  def of_type?(value, type, module, vars)

  def of_type?(value, {:ann_type, _, [_name, type]}, module, vars),
    do: of_type?(value, type, module, vars)

  def of_type?(value, {:paren_type, _, [type]}, module, vars),
    do: of_type?(value, type, module, vars)

  def of_type?(value, {:var, _, name}, _module, vars) do
    case vars do
      %{^name => {type, type_module}} -> of_type?(value, type, type_module, %{})
      _ -> name == :_ or raise ArgumentError, "unbound type variable #{name}"
    end
  end

  def of_type?(value, {:atom, _, atom}, _module, _vars), do: value === atom
  def of_type?(value, {:integer, _, integer}, _module, _vars), do: value === integer

  def of_type?(value, {:op, _, :-, {:integer, _, integer}}, _module, _vars),
    do: value === -integer

  def of_type?(value, {:type, _, :union, types}, module, vars),
    do: Enum.any?(types, &of_type?(value, &1, module, vars))

  def of_type?(value, {:type, _, :range, [low, high]}, _module, _vars) do
    is_integer(value) and value >= literal(low) and value <= literal(high)
  end

  def of_type?(value, {:type, _, :list, [element]}, module, vars),
    do: is_list(value) and Enum.all?(value, &of_type?(&1, element, module, vars))

  def of_type?(value, {:type, _, :nonempty_list, [element]}, module, vars),
    do: of_type?(value, {:type, 0, :list, [element]}, module, vars) and value != []

  def of_type?(value, {:type, _, :tuple, :any}, _module, _vars), do: is_tuple(value)

  def of_type?(value, {:type, _, :tuple, types}, module, vars) do
    is_tuple(value) and tuple_size(value) == length(types) and
      value
      |> Tuple.to_list()
      |> Enum.zip(types)
      |> Enum.all?(fn {element, type} -> of_type?(element, type, module, vars) end)
  end

  def of_type?(value, {:type, _, :map, :any}, _module, _vars), do: is_map(value)

  def of_type?(value, {:type, _, :map, fields}, module, vars) when is_map(value) do
    entries = Map.to_list(value)

    Enum.all?(fields, fn
      {:type, _, :map_field_exact, [key, type]} ->
        Enum.any?(entries, fn {k, v} ->
          of_type?(k, key, module, vars) and of_type?(v, type, module, vars)
        end)

      {:type, _, :map_field_assoc, _} ->
        true
    end) and
      Enum.all?(entries, fn {k, v} ->
        Enum.any?(fields, fn {:type, _, _, [key, type]} ->
          of_type?(k, key, module, vars) and of_type?(v, type, module, vars)
        end)
      end)
  end

  def of_type?(_value, {:type, _, :map, _}, _module, _vars), do: false

  def of_type?(value, {:type, _, :fun, _}, _module, _vars), do: is_function(value)

  def of_type?(value, {:type, _, name, []}, _module, _vars)
      when name in [:any, :term, :integer, :float, :number, :boolean, :atom, :binary] do
    case name do
      name when name in [:any, :term] -> true
      :integer -> is_integer(value)
      :float -> is_float(value)
      :number -> is_number(value)
      :boolean -> is_boolean(value)
      :atom -> is_atom(value)
      :binary -> is_binary(value)
    end
  end

  def of_type?(value, {:type, _, :non_neg_integer, []}, _module, _vars),
    do: is_integer(value) and value >= 0

  def of_type?(value, {:type, _, :pos_integer, []}, _module, _vars),
    do: is_integer(value) and value > 0

  def of_type?(value, {:type, _, nil, []}, _module, _vars), do: value === nil

  def of_type?(value, {:type, _, :list, []}, _module, _vars), do: is_list(value)

  def of_type?(value, {:user_type, _, name, args}, module, vars),
    do: of_named?(value, module, name, args, module, vars)

  def of_type?(
        value,
        {:remote_type, _, [{:atom, _, MapSet}, {:atom, _, :t}, [element]]},
        module,
        vars
      ) do
    is_struct(value, MapSet) and Enum.all?(value, &of_type?(&1, element, module, vars))
  end

  def of_type?(
        value,
        {:remote_type, _, [{:atom, _, remote}, {:atom, _, name}, args]},
        module,
        vars
      ),
      do: of_named?(value, remote, name, args, module, vars)

  def of_type?(_value, type, _module, _vars) do
    raise ArgumentError, "the spec checker does not know the type #{inspect(type)}"
  end

  defp literal({:integer, _, integer}), do: integer
  defp literal({:op, _, :-, {:integer, _, integer}}), do: -integer

  # A named type, expanded from its module with its arguments bound to its parameters.
  defp of_named?(value, type_module, name, args, module, vars) do
    {:ok, types} = fetch(type_module, &Code.Typespec.fetch_types/1)

    case Enum.find_value(types, fn {_kind, {found, definition, params}} ->
           found == name and length(params) == length(args) and {definition, params}
         end) do
      {definition, params} ->
        bound =
          params
          |> Enum.zip(args)
          |> Map.new(fn {{:var, _, param}, arg} -> {param, {resolve(arg, vars), module}} end)

        of_type?(value, definition, type_module, bound)

      nil ->
        raise ArgumentError, "#{inspect(type_module)} has no type #{name}/#{length(args)}"
    end
  end

  defp resolve({:var, _, name} = var, vars) do
    case vars do
      %{^name => {type, _}} -> type
      _ -> var
    end
  end

  defp resolve(type, _vars), do: type
end

defmodule SnakeBridge.JSON do
  @moduledoc false
  # Reads the binary's `--format json` output: Elixir 1.14 and OTP 25 have no JSON reader, and
  # Hex is not available to this package. Objects become maps with string keys.

  @spec decode(binary()) :: {:ok, term()} | :error
  def decode(text) when is_binary(text) do
    {value, rest} = value(skip(text))
    if skip(rest) == "", do: {:ok, value}, else: :error
  rescue
    _ in [MatchError, CaseClauseError, FunctionClauseError, ArgumentError] -> :error
  end

  defp value("{" <> rest), do: object(skip(rest), %{})
  defp value("[" <> rest), do: array(skip(rest), [])
  defp value("\"" <> rest), do: string(rest, [])
  defp value("true" <> rest), do: {true, rest}
  defp value("false" <> rest), do: {false, rest}
  defp value("null" <> rest), do: {nil, rest}

  defp value(text) do
    [number | _] = Regex.run(~r/^-?\d+(\.\d+)?([eE][+-]?\d+)?/, text)
    rest = binary_part(text, byte_size(number), byte_size(text) - byte_size(number))

    case Integer.parse(number) do
      {integer, ""} -> {integer, rest}
      _ -> {String.to_float(normalize_float(number)), rest}
    end
  end

  # `1e5` is valid JSON but not for String.to_float/1.
  defp normalize_float(number) do
    if String.contains?(number, "."), do: number, else: String.replace(number, ~r/[eE]/, ".0e")
  end

  defp object("}" <> rest, map), do: {map, rest}

  defp object("\"" <> rest, map) do
    {key, rest} = string(rest, [])
    ":" <> rest = skip(rest)
    {value, rest} = value(skip(rest))
    map = Map.put(map, key, value)

    case skip(rest) do
      "," <> rest -> object(skip(rest), map)
      "}" <> rest -> {map, rest}
    end
  end

  defp array("]" <> rest, items), do: {Enum.reverse(items), rest}

  defp array(text, items) do
    {value, rest} = value(text)

    case skip(rest) do
      "," <> rest -> array(skip(rest), [value | items])
      "]" <> rest -> {Enum.reverse([value | items]), rest}
    end
  end

  defp string("\"" <> rest, parts), do: {IO.iodata_to_binary(Enum.reverse(parts)), rest}

  defp string("\\u" <> <<high::binary-4, "\\u", low::binary-4, rest::binary>>, parts) do
    case {String.to_integer(high, 16), String.to_integer(low, 16)} do
      {h, l} when h in 0xD800..0xDBFF and l in 0xDC00..0xDFFF ->
        string(rest, [<<0x10000 + (h - 0xD800) * 0x400 + (l - 0xDC00)::utf8>> | parts])

      {h, _} ->
        string("\\u" <> low <> rest, [codepoint(h) | parts])
    end
  end

  defp string("\\u" <> <<hex::binary-4, rest::binary>>, parts),
    do: string(rest, [codepoint(String.to_integer(hex, 16)) | parts])

  defp string("\\" <> <<escaped, rest::binary>>, parts) do
    char =
      case escaped do
        ?n -> "\n"
        ?t -> "\t"
        ?r -> "\r"
        ?b -> "\b"
        ?f -> "\f"
        other when other in [?", ?\\, ?/] -> <<other>>
      end

    string(rest, [char | parts])
  end

  defp string(<<char::utf8, rest::binary>>, parts), do: string(rest, [<<char::utf8>> | parts])

  # A lone surrogate has no UTF-8 form.
  defp codepoint(code) when code in 0xD800..0xDFFF, do: "\uFFFD"
  defp codepoint(code), do: <<code::utf8>>

  defp skip(<<c, rest::binary>>) when c in [?\s, ?\n, ?\r, ?\t], do: skip(rest)
  defp skip(text), do: text
end

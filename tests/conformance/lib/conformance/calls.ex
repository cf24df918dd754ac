defmodule Conformance.Calls do
  @moduledoc """
  The call table: real calls into whole-generated libraries, each with the result Python gives.

  A row is `{library, kind, module, function, args, expected}`. `args` is a list, or a function
  returning one (to make the objects a method is called on). `expected` is a value (floats
  compared to 1e-9), `{:ref, python_type}`, or a predicate on the value. Calls go through
  `apply/3`, so a row for a library the run did not generate is skipped rather than a compile
  error.
  """

  alias SnakeBridge.{Bytes, Complex}

  def rows, do: Enum.map(stdlib() ++ numpy() ++ sympy() ++ managed(), &row/1)

  defp row({library, kind, module, function, args, expected}) do
    %{
      library: library,
      kind: kind,
      module: module,
      function: function,
      args: args,
      expected: expected
    }
  end

  # The value of `{:ok, value}`; a setup step that fails raises with the call in the message.
  defp ok!(module, function, args) do
    case apply(module, function, args) do
      {:ok, value} -> value
      other -> raise "setup #{inspect(module)}.#{function} gave #{inspect(other)}"
    end
  end

  defp ref?(type), do: &match?(%SnakeBridge.Ref{python_type: ^type}, &1)
  defp bytes?(data), do: &(&1 == data or &1 == %Bytes{data: data})

  defp stdlib do
    fraction = fn -> [ok!(Fractions.Fraction, :new, [1, 3])] end
    counter = fn -> [ok!(Collections.Counter, :new, [["a", "b", "a"]])] end
    deque = fn -> [ok!(Collections.Deque, :new, [[1, 2, 3]])] end
    decimal = fn -> [ok!(Decimal.Decimal, :new, ["1.10"])] end
    dist = fn -> [ok!(Statistics.NormalDist, :new, [0, 1])] end
    path = fn -> [ok!(Pathlib.PurePosixPath, :new, ["/a/b.txt"])] end
    network = fn -> [ok!(Ipaddress.IPv4Network, :new, ["10.0.0.0/8"])] end
    address = fn -> [ok!(Ipaddress, :ip_address, ["10.0.0.1"])] end
    pattern = fn -> [ok!(Re, :compile, ["a+"])] end
    match = fn -> [ok!(Re, :search, ["a+", "caab"])] end
    uuid = fn -> [ok!(Uuid.UUID, :new, ["12345678123456781234567812345678"])] end
    rng = fn -> [ok!(Random.Random, :new, [42])] end
    matcher = fn -> [ok!(Difflib.SequenceMatcher, :new, [nil, "abcd", "bcde"])] end
    template = fn -> [ok!(PyString.Template, :new, ["$who likes $what"])] end
    blake = fn -> [ok!(Hashlib.Blake2b, :new, [])] end
    packer = fn -> [ok!(Struct.Struct, :new, ["<i"])] end
    wrapper = fn -> [ok!(Textwrap.TextWrapper, :new, [[width: 3]])] end
    calendar = fn -> [ok!(PyCalendar.TextCalendar, :new, [])] end
    delta = fn -> [ok!(Datetime.Timedelta, :new, [1])] end

    [
      {"base64", :function, Base64, :b64encode, [%Bytes{data: "hi"}], bytes?("aGk=")},
      {"base64", :function, Base64, :b64decode, ["aGk="], bytes?("hi")},
      {"base64", :function, Base64, :b16encode, [%Bytes{data: "hi"}], bytes?("6869")},
      {"bisect", :function, Bisect, :bisect_left, [[1, 2, 3], 2], 1},
      {"bisect", :function, Bisect, :bisect_right, [[1, 2, 2, 3], 2], 3},
      {"calendar", :function, PyCalendar, :isleap, [2024], true},
      {"calendar", :function, PyCalendar, :monthrange, [2024, 2], {3, 29}},
      {"calendar", :function, PyCalendar, :weekday, [2024, 3, 1], 4},
      {"calendar", :constant, PyCalendar, :py_MONDAY, [], 0},
      {"calendar", :constructor, PyCalendar.TextCalendar, :new, [],
       ref?("calendar.TextCalendar")},
      {"calendar", :method, PyCalendar.TextCalendar, :formatweekheader,
       fn -> calendar.() ++ [2] end, "Mo Tu We Th Fr Sa Su"},
      {"cmath", :function, Cmath, :sqrt, [-1], %Complex{real: 0.0, imag: 1.0}},
      {"cmath", :function, Cmath, :phase, [-1.0], 3.141592653589793},
      {"cmath", :constant, Cmath, :pi, [], 3.141592653589793},
      {"collections", :constructor, Collections.Counter, :new, [["a", "b", "a"]],
       ref?("collections.Counter")},
      {"collections", :method, Collections.Counter, :most_common, fn -> counter.() ++ [1] end,
       [{"a", 2}]},
      {"collections", :method, Collections.Counter, :total, counter, 3},
      {"collections", :constructor, Collections.Deque, :new, [[1, 2, 3]],
       ref?("collections.deque")},
      {"collections", :method, Collections.Deque, :pop, deque, 3},
      {"collections", :property, Collections.Deque, :maxlen, deque, nil},
      {"collections", :class_method, Collections.OrderedDict, :fromkeys, [["a", "b"]],
       &(&1 == %{"a" => nil, "b" => nil} or match?(%SnakeBridge.Ref{}, &1))},
      {"colorsys", :function, Colorsys, :rgb_to_hsv, [1.0, 0.0, 0.0], {0.0, 1.0, 1.0}},
      {"colorsys", :function, Colorsys, :hsv_to_rgb, [0.0, 1.0, 1.0], {1.0, 0.0, 0.0}},
      {"copy", :function, Copy, :deepcopy, [[1, [2, 3]]], [1, [2, 3]]},
      {"copy", :function, Copy, :copy, [%{"a" => 1}], %{"a" => 1}},
      {"datetime", :constructor, Datetime.Date, :new, [2024, 3, 1], ref?("datetime.date")},
      {"datetime", :class_method, Datetime.Date, :fromisoformat, ["2024-03-01"], ~D[2024-03-01]},
      {"datetime", :method, Datetime.Date, :strftime, [~D[2024-03-01], "%A"], "Friday"},
      {"datetime", :method, Datetime.Date, :weekday, [~D[2024-03-01]], 4},
      {"datetime", :property, Datetime.Date, :year, [~D[2024-03-01]], 2024},
      {"datetime", :constant, Datetime, :py_MAXYEAR, [], 9999},
      {"datetime", :constructor, Datetime.Timedelta, :new, [1], ref?("datetime.timedelta")},
      {"datetime", :method, Datetime.Timedelta, :total_seconds, delta, 86400.0},
      {"datetime", :property, Datetime.Timedelta, :days, delta, 1},
      {"datetime", :class_method, Datetime.Datetime, :fromisoformat, ["2024-03-01T10:00:00"],
       ~N[2024-03-01 10:00:00]},
      {"decimal", :constructor, Decimal.Decimal, :new, ["1.10"], ref?("decimal.Decimal")},
      {"decimal", :method, Decimal.Decimal, :to_eng_string, decimal, "1.10"},
      {"decimal", :method, Decimal.Decimal, :adjusted, decimal, 0},
      {"decimal", :method, Decimal.Decimal, :is_signed, decimal, false},
      {"decimal", :class_method, Decimal.Decimal, :from_float, [0.5], ref?("decimal.Decimal")},
      {"decimal", :property, Decimal.Decimal, :real, decimal, ref?("decimal.Decimal")},
      {"decimal", :constant, Decimal, :py_ROUND_HALF_UP, [], "ROUND_HALF_UP"},
      {"decimal", :function, Decimal, :getcontext, [], ref?("decimal.Context")},
      {"difflib", :function, Difflib, :get_close_matches, ["appel", ["ape", "apple", "peach"]],
       ["apple", "ape"]},
      {"difflib", :generator, Difflib, :unified_diff, [["a\n"], ["b\n"]],
       {:ref, "builtins.generator"}},
      {"difflib", :generator, Difflib, :ndiff, [["a\n"], ["b\n"]], {:ref, "builtins.generator"}},
      {"difflib", :constructor, Difflib.SequenceMatcher, :new, [nil, "abcd", "bcde"],
       ref?("difflib.SequenceMatcher")},
      {"difflib", :method, Difflib.SequenceMatcher, :ratio, matcher, 0.75},
      {"enum", :constructor, PyEnum.Auto, :new, [], ref?("enum.auto")},
      {"enum", :constructor, PyEnum.Enum, :new, ["Color", ["RED", "GREEN"]],
       ref?("enum.EnumType")},
      {"fnmatch", :function, Fnmatch, :fnmatch, ["a.txt", "*.txt"], true},
      {"fnmatch", :function, Fnmatch, :filter, [["a.txt", "b.md"], "*.txt"], ["a.txt"]},
      {"fractions", :constructor, Fractions.Fraction, :new, [1, 3], ref?("fractions.Fraction")},
      {"fractions", :class_method, Fractions.Fraction, :from_float, [0.5],
       ref?("fractions.Fraction")},
      {"fractions", :method, Fractions.Fraction, :as_integer_ratio, fraction, {1, 3}},
      {"fractions", :method, Fractions.Fraction, :limit_denominator, fn -> fraction.() ++ [2] end,
       ref?("fractions.Fraction")},
      {"fractions", :property, Fractions.Fraction, :numerator, fraction, 1},
      {"fractions", :property, Fractions.Fraction, :denominator, fraction, 3},
      {"functools", :constant, Functools, :py_WRAPPER_ASSIGNMENTS, [],
       &(is_tuple(&1) and "__doc__" in Tuple.to_list(&1))},
      {"hashlib", :constructor, Hashlib.Blake2b, :new, [], ref?("_blake2.blake2b")},
      {"hashlib", :method, Hashlib.Blake2b, :hexdigest, blake,
       "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"},
      {"hashlib", :property, Hashlib.Blake2b, :digest_size, blake, 64},
      {"hashlib", :function, Hashlib, :md5, [%Bytes{data: "abc"}], ref?("_hashlib.HASH")},
      {"heapq", :function, Heapq, :nlargest, [2, [1, 5, 3]], [5, 3]},
      {"heapq", :function, Heapq, :nsmallest, [2, [1, 5, 3]], [1, 3]},
      {"heapq", :generator, Heapq, :merge, [[1, 3], [2, 4]], {:ref, "builtins.generator"}},
      {"html", :function, Html, :escape, ["<a href='x'>"], "&lt;a href=&#x27;x&#x27;&gt;"},
      {"html", :function, Html, :unescape, ["&lt;&amp;"], "<&"},
      {"ipaddress", :function, Ipaddress, :ip_address, ["10.0.0.1"],
       ref?("ipaddress.IPv4Address")},
      {"ipaddress", :property, Ipaddress.IPv4Address, :is_private, address, true},
      {"ipaddress", :constructor, Ipaddress.IPv4Network, :new, ["10.0.0.0/8"],
       ref?("ipaddress.IPv4Network")},
      {"ipaddress", :property, Ipaddress.IPv4Network, :num_addresses, network, 16_777_216},
      {"ipaddress", :method, Ipaddress.IPv4Network, :supernet, network,
       ref?("ipaddress.IPv4Network")},
      {"itertools", :constructor, Itertools.Count, :new, [], ref?("itertools.count")},
      {"itertools", :class_method, Itertools.Chain, :from_iterable, [[[1], [2]]],
       ref?("itertools.chain")},
      {"itertools", :constructor, Itertools.Permutations, :new, [[1, 2]],
       ref?("itertools.permutations")},
      {"json", :function, Json, :dumps, [[1, 2]], "[1, 2]"},
      {"json", :function, Json, :loads, ["{\"a\": [1, 2.5, null]}"], %{"a" => [1, 2.5, nil]}},
      {"json", :constructor, Json.JSONEncoder, :new, [], ref?("json.encoder.JSONEncoder")},
      {"json", :method, Json.JSONEncoder, :encode,
       fn -> [ok!(Json.JSONEncoder, :new, []), %{"a" => 1}] end, "{\"a\": 1}"},
      {"keyword", :function, PyKeyword, :iskeyword, ["def"], true},
      {"keyword", :constant, PyKeyword, :kwlist, [], &("def" in &1)},
      {"math", :function, Math, :sqrt, [16], 4.0},
      {"math", :function, Math, :factorial, [20], 2_432_902_008_176_640_000},
      {"math", :function, Math, :gcd, [12, 18], 6},
      {"math", :function, Math, :hypot, [3, 4], 5.0},
      {"math", :function, Math, :comb, [5, 2], 10},
      {"math", :function, Math, :log, [8, 2], 3.0},
      {"math", :function, Math, :floor, [2.7], 2},
      {"math", :function, Math, :fsum, [[0.1, 0.2, 0.3]], 0.6},
      {"math", :function, Math, :isclose, [1.0, 1.0], true},
      {"math", :constant, Math, :pi, [], 3.141592653589793},
      {"math", :constant, Math, :e, [], 2.718281828459045},
      {"math", :constant, Math, :inf, [], :infinity},
      {"operator", :function, Operator, :add, [1, 2], 3},
      {"operator", :function, Operator, :truth, [0], false},
      {"operator", :function, Operator, :concat, [[1], [2]], [1, 2]},
      {"operator", :constructor, Operator.Itemgetter, :new, [1], ref?("operator.itemgetter")},
      {"pathlib", :constructor, Pathlib.PurePosixPath, :new, ["/a/b.txt"],
       ref?("pathlib.PurePosixPath")},
      {"pathlib", :property, Pathlib.PurePath, :name, path, "b.txt"},
      {"pathlib", :property, Pathlib.PurePath, :suffix, path, ".txt"},
      {"pathlib", :property, Pathlib.PurePath, :parts, path, {"/", "a", "b.txt"}},
      {"pathlib", :method, Pathlib.PurePath, :as_posix, path, "/a/b.txt"},
      {"pathlib", :method, Pathlib.PurePath, :with_suffix, fn -> path.() ++ [".md"] end,
       ref?("pathlib.PurePosixPath")},
      {"pathlib", :class_method, Pathlib.Path, :cwd, [], ref?("pathlib.PosixPath")},
      {"random", :constructor, Random.Random, :new, [42], ref?("random.Random")},
      {"random", :method, Random.Random, :randint, fn -> rng.() ++ [1, 10] end, 2},
      {"random", :function, Random, :randint, [1, 1], 1},
      {"re", :function, Re, :findall, ["a+", "caaab aa"], ["aaa", "aa"]},
      {"re", :function, Re, :sub, ["a", "b", "aaa"], "bbb"},
      {"re", :function, Re, :escape, ["a.b"], "a\\.b"},
      {"re", :function, Re, :compile, ["a+"], ref?("re.Pattern")},
      {"re", :property, Re.Pattern, :pattern, pattern, "a+"},
      {"re", :method, Re.Pattern, :findall, fn -> pattern.() ++ ["caab a"] end, ["aa", "a"]},
      {"re", :method, Re.Match, :group, fn -> match.() ++ [0] end, "aa"},
      {"re", :method, Re.Match, :span, match, {1, 3}},
      {"re", :constant, Re, :py_IGNORECASE, [], &(&1 == 2 or match?(%SnakeBridge.Ref{}, &1))},
      {"shlex", :function, Shlex, :split, ["a 'b c'"], ["a", "b c"]},
      {"shlex", :function, Shlex, :py_quote, ["a b"], "'a b'"},
      {"shlex", :function, Shlex, :join, [["a", "b c"]], "a 'b c'"},
      {"statistics", :function, Statistics, :mean, [[1, 2, 3, 4]], 2.5},
      {"statistics", :function, Statistics, :median, [[1, 3, 2]], 2},
      {"statistics", :function, Statistics, :stdev, [[1, 2, 3, 4]], 1.2909944487358056},
      {"statistics", :function, Statistics, :mode, [[1, 1, 2]], 1},
      {"statistics", :constructor, Statistics.NormalDist, :new, [0, 1],
       ref?("statistics.NormalDist")},
      {"statistics", :method, Statistics.NormalDist, :cdf, fn -> dist.() ++ [0] end, 0.5},
      {"statistics", :property, Statistics.NormalDist, :mean, dist, 0.0},
      {"statistics", :class_method, Statistics.NormalDist, :from_samples, [[1, 2, 3]],
       ref?("statistics.NormalDist")},
      {"string", :function, PyString, :capwords, ["hello world"], "Hello World"},
      {"string", :constant, PyString, :ascii_lowercase, [], "abcdefghijklmnopqrstuvwxyz"},
      {"string", :constant, PyString, :digits, [], "0123456789"},
      {"string", :constructor, PyString.Template, :new, ["$who"], ref?("string.Template")},
      {"string", :method, PyString.Template, :substitute,
       fn -> template.() ++ [[who: "tim", what: "tea"]] end, "tim likes tea"},
      {"struct", :function, Struct, :calcsize, ["<i"], 4},
      {"struct", :function, Struct, :pack, ["<h", 1], bytes?(<<1, 0>>)},
      {"struct", :function, Struct, :unpack, ["<h", %Bytes{data: <<1, 0>>}], {1}},
      {"struct", :constructor, Struct.Struct, :new, ["<i"], ref?("_struct.Struct")},
      {"struct", :property, Struct.Struct, :size, packer, 4},
      {"textwrap", :function, Textwrap, :wrap, ["a b c", 3], ["a b", "c"]},
      {"textwrap", :function, Textwrap, :dedent, ["  x\n  y"], "x\ny"},
      {"textwrap", :function, Textwrap, :shorten, ["hello world", 8], "[...]"},
      {"textwrap", :constructor, Textwrap.TextWrapper, :new, [[width: 3]],
       ref?("textwrap.TextWrapper")},
      {"textwrap", :method, Textwrap.TextWrapper, :fill, fn -> wrapper.() ++ ["a b c"] end,
       "a b\nc"},
      {"unicodedata", :function, Unicodedata, :name, ["a"], "LATIN SMALL LETTER A"},
      {"unicodedata", :function, Unicodedata, :category, ["A"], "Lu"},
      {"unicodedata", :function, Unicodedata, :normalize, ["NFC", "e\u0301"], "é"},
      {"unicodedata", :constant, Unicodedata, :unidata_version, [], &is_binary/1},
      {"urllib.parse", :function, Urllib.Parse, :py_quote, ["a b"], "a%20b"},
      {"urllib.parse", :function, Urllib.Parse, :urlencode, [%{"a" => 1}], "a=1"},
      {"urllib.parse", :function, Urllib.Parse, :parse_qs, ["a=1&a=2"], %{"a" => ["1", "2"]}},
      {"urllib.parse", :function, Urllib.Parse, :urljoin, ["http://x.org/a/b", "c"],
       "http://x.org/a/c"},
      {"uuid", :constructor, Uuid.UUID, :new, ["12345678123456781234567812345678"],
       ref?("uuid.UUID")},
      {"uuid", :property, Uuid.UUID, :hex, uuid, "12345678123456781234567812345678"},
      {"uuid", :constant, Uuid, :py_NAMESPACE_DNS, [], ref?("uuid.UUID")},
      {"uuid", :function, Uuid, :uuid5, fn -> [ok!(Uuid, :py_NAMESPACE_DNS, []), "x"] end,
       ref?("uuid.UUID")},
      {"zlib", :function, Zlib, :crc32, [%Bytes{data: "abc"}], 891_568_578},
      {"zlib", :function, Zlib, :adler32, [%Bytes{data: "abc"}], 38_600_999},
      {"zlib", :constant, Zlib, :py_MAX_WBITS, [], 15},
      {"zlib", :function, Zlib, :compressobj, [], ref?("zlib.Compress")}
    ]
  end

  defp numpy do
    array = fn -> [ok!(Numpy, :array, [[1, 2, 3]])] end
    matrix = fn -> [ok!(Numpy, :array, [[[1, 2], [3, 4]]])] end
    poly = fn -> [ok!(Numpy.Polynomial.Polynomial, :new, [[1, 2]])] end
    rng = fn -> [ok!(Numpy.Random, :default_rng, [42])] end
    dtype = fn -> [ok!(Numpy.Dtype, :new, ["float64"])] end
    iinfo = fn -> [ok!(Numpy.Iinfo, :new, ["int32"])] end

    [
      {"numpy", :function, Numpy, :mean, [[1, 2, 3]], 2.0},
      {"numpy", :function, Numpy, :sum, [[1, 2, 3]], 6},
      {"numpy", :function, Numpy, :median, [[3, 1, 2]], 2.0},
      {"numpy", :function, Numpy, :dot, [[1, 2], [3, 4]], 11},
      {"numpy", :function, Numpy, :sqrt, [4.0], 2.0},
      {"numpy", :function, Numpy, :isnan, [1.0], false},
      {"numpy", :function, Numpy, :array, [[1, 2, 3]], ref?("numpy.ndarray")},
      {"numpy", :function, Numpy, :arange, [5], ref?("numpy.ndarray")},
      {"numpy", :function, Numpy, :linspace, [0, 1, 5], ref?("numpy.ndarray")},
      {"numpy", :function, Numpy, :zeros, [3], ref?("numpy.ndarray")},
      {"numpy", :function, Numpy, :allclose, [[1.0, 2.0], [1.0, 2.0]], true},
      {"numpy", :constant, Numpy, :pi, [], 3.141592653589793},
      {"numpy", :constant, Numpy, :e, [], 2.718281828459045},
      {"numpy", :constant, Numpy, :inf, [], :infinity},
      {"numpy", :method, Numpy.Ndarray, :tolist, array, [1, 2, 3]},
      {"numpy", :method, Numpy.Ndarray, :sum, array, 6},
      {"numpy", :method, Numpy.Ndarray, :mean, array, 2.0},
      {"numpy", :method, Numpy.Ndarray, :astype, fn -> array.() ++ ["float64"] end,
       ref?("numpy.ndarray")},
      {"numpy", :method, Numpy.Ndarray, :reshape, fn -> array.() ++ [3, 1] end,
       ref?("numpy.ndarray")},
      {"numpy", :property, Numpy.Ndarray, :shape, array, {3}},
      {"numpy", :property, Numpy.Ndarray, :ndim, array, 1},
      {"numpy", :property, Numpy.Ndarray, :size, array, 3},
      {"numpy", :property, Numpy.Ndarray, :py_T, matrix, ref?("numpy.ndarray")},
      {"numpy", :function, Numpy.Linalg, :norm, [[3, 4]], 5.0},
      {"numpy", :function, Numpy.Linalg, :det, [[[1, 2], [3, 4]]], -2.0},
      {"numpy", :function, Numpy.Linalg, :inv, [[[1, 2], [3, 4]]], ref?("numpy.ndarray")},
      {"numpy", :function, Numpy.Fft, :fft, [[1, 0, 0, 0]], ref?("numpy.ndarray")},
      {"numpy", :function, Numpy.Random, :default_rng, [42],
       ref?("numpy.random._generator.Generator")},
      {"numpy", :method, Numpy.Random.Generator, :integers, fn -> rng.() ++ [10] end,
       &(is_integer(&1) and &1 in 0..9)},
      {"numpy", :constructor, Numpy.Dtype, :new, ["float64"], ref?("numpy.dtypes.Float64DType")},
      {"numpy", :property, Numpy.Dtype, :itemsize, dtype, 8},
      {"numpy", :constructor, Numpy.Iinfo, :new, ["int32"], ref?("numpy.iinfo")},
      {"numpy", :property, Numpy.Iinfo, :max, iinfo, 2_147_483_647},
      {"numpy", :constructor, Numpy.Polynomial.Polynomial, :new, [[1, 2]],
       ref?("numpy.polynomial.polynomial.Polynomial")},
      {"numpy", :method, Numpy.Polynomial.Polynomial, :degree, poly, 1},
      {"numpy", :class_method, Numpy.Polynomial.Polynomial, :fromroots, [[1, 2]],
       ref?("numpy.polynomial.polynomial.Polynomial")},
      {"numpy", :method, Numpy.Polynomial.Polynomial, :roots, poly, ref?("numpy.ndarray")},
      {"numpy", :function, Numpy.Char, :upper, [["a"]], ref?("numpy.ndarray")},
      {"numpy", :constructor, Numpy.Float64, :new, [1.5], ref?("numpy.float64")}
    ]
  end

  defp sympy do
    x = fn -> ok!(Sympy.Symbol, :new, ["x"]) end
    expr = fn -> ok!(Sympy, :sympify, ["x**2 + 2*x + 1"]) end
    m = fn -> [ok!(Sympy.Matrix, :new, [[[1, 2], [3, 4]]])] end
    poly = fn -> [ok!(Sympy.Poly, :new, [expr.(), x.()])] end
    sympy_type = fn name -> ref?("sympy.core." <> name) end

    [
      {"sympy", :constructor, Sympy.Symbol, :new, ["x"], sympy_type.("symbol.Symbol")},
      {"sympy", :function, Sympy, :sympify, ["x**2 + 1"], sympy_type.("add.Add")},
      {"sympy", :function, Sympy, :symbols, ["x y"],
       &match?({%SnakeBridge.Ref{}, %SnakeBridge.Ref{}}, &1)},
      {"sympy", :function, Sympy, :expand, fn -> [ok!(Sympy, :sympify, ["(x + 1)**2"])] end,
       sympy_type.("add.Add")},
      {"sympy", :function, Sympy, :factor, fn -> [expr.()] end, sympy_type.("power.Pow")},
      {"sympy", :function, Sympy, :diff, fn -> [expr.(), x.()] end, sympy_type.("add.Add")},
      {"sympy", :function, Sympy, :sstr, fn -> [expr.()] end, "x**2 + 2*x + 1"},
      {"sympy", :function, Sympy, :latex, fn -> [expr.()] end, "x^{2} + 2 x + 1"},
      {"sympy", :function, Sympy, :solve, fn -> [expr.(), x.()] end,
       &match?([%SnakeBridge.Ref{}], &1)},
      {"sympy", :function, Sympy, :isprime, [7], true},
      {"sympy", :function, Sympy, :prime, [5], 11},
      {"sympy", :function, Sympy, :divisors, [12], [1, 2, 3, 4, 6, 12]},
      {"sympy", :function, Sympy, :factorint, [12], %{2 => 2, 3 => 1}},
      {"sympy", :generator, Sympy, :primerange, [1, 10], {:ref, "builtins.generator"}},
      {"sympy", :constant, Sympy, :pi, [], sympy_type.("numbers.Pi")},
      {"sympy", :constructor, Sympy.Rational, :new, [1, 3], sympy_type.("numbers.Rational")},
      {"sympy", :property, Sympy.Rational, :p, fn -> [ok!(Sympy.Rational, :new, [1, 3])] end, 1},
      {"sympy", :method, Sympy.Basic, :subs, fn -> [expr.(), x.(), 2] end,
       sympy_type.("numbers.Integer")},
      {"sympy", :method, Sympy.Expr, :expand, fn -> [ok!(Sympy, :sympify, ["(x + 1)**2"])] end,
       sympy_type.("add.Add")},
      {"sympy", :method, Sympy.Basic, :count_ops, fn -> [expr.()] end, &is_integer/1},
      {"sympy", :property, Sympy.Basic, :free_symbols, fn -> [expr.()] end,
       &match?(%MapSet{}, &1)},
      {"sympy", :property, Sympy.Basic, :args, fn -> [expr.()] end, &is_tuple/1},
      {"sympy", :constructor, Sympy.Matrix, :new, [[[1, 2], [3, 4]]],
       ref?("sympy.matrices.dense.MutableDenseMatrix")},
      {"sympy", :method, Sympy.MatrixBase, :det, m, sympy_type.("numbers.Integer")},
      {"sympy", :property, Sympy.MatrixBase, :shape, m, {2, 2}},
      {"sympy", :class_method, Sympy.Matrix, :eye, [2],
       ref?("sympy.matrices.dense.MutableDenseMatrix")},
      {"sympy", :constructor, Sympy.Poly, :new, fn -> [expr.(), x.()] end,
       ref?("sympy.polys.polytools.Poly")},
      {"sympy", :method, Sympy.Poly, :degree, poly, 2},
      {"sympy", :class_method, Sympy.Poly, :from_list, fn -> [[1, 2], x.()] end,
       ref?("sympy.polys.polytools.Poly")},
      {"sympy", :static_method, Sympy.Carmichael, :is_prime, [7], true},
      {"sympy", :instance_method, Sympy.Integers, :as_relational, fn -> [x.()] end,
       &match?(%SnakeBridge.Ref{}, &1)}
    ]
  end

  # Outside CI: pandas, scipy and networkx in the managed environment.
  defp managed do
    frame = fn -> [ok!(Pandas.DataFrame, :new, [%{"a" => [1, 2, 3], "b" => [4, 5, 6]}])] end
    series = fn -> [ok!(Pandas.Series, :new, [[1, 2, 3]])] end
    graph = fn -> [ok!(Networkx, :path_graph, [4])] end

    [
      {"pandas", :constructor, Pandas.DataFrame, :new, [%{"a" => [1, 2]}],
       ref?("pandas.core.frame.DataFrame")},
      {"pandas", :class_method, Pandas.DataFrame, :from_dict, [%{"a" => [1, 2]}],
       ref?("pandas.core.frame.DataFrame")},
      {"pandas", :method, Pandas.DataFrame, :to_dict, fn -> frame.() ++ ["list"] end,
       %{"a" => [1, 2, 3], "b" => [4, 5, 6]}},
      {"pandas", :property, Pandas.DataFrame, :shape, frame, {3, 2}},
      {"pandas", :property, Pandas.DataFrame, :columns, frame,
       ref?("pandas.core.indexes.base.Index")},
      {"pandas", :method, Pandas.DataFrame, :head, fn -> frame.() ++ [1] end,
       ref?("pandas.core.frame.DataFrame")},
      {"pandas", :constructor, Pandas.Series, :new, [[1, 2, 3]],
       ref?("pandas.core.series.Series")},
      {"pandas", :method, Pandas.Series, :sum, series, 6},
      {"pandas", :method, Pandas.Series, :tolist, series, [1, 2, 3]},
      {"pandas", :function, Pandas, :to_datetime, ["2024-03-01"], ~N[2024-03-01 00:00:00]},
      {"pandas", :static_method, Pandas.CategoricalDtype, :validate_ordered, [true], nil},
      {"pandas", :function, Pandas, :isna, [nil], true},
      {"pandas", :constructor, Pandas.Timestamp, :new, ["2024-03-01"],
       &(match?(%DateTime{}, &1) or match?(%NaiveDateTime{}, &1) or
           match?(%SnakeBridge.Ref{}, &1))},
      {"scipy", :function, Scipy.Special, :comb, [5, 2], 10.0},
      {"scipy", :constant, Scipy.Constants, :pi, [], 3.141592653589793},
      {"scipy", :static_method, Scipy.Spatial.Transform.Rotation, :from_euler,
       ["z", 90, [degrees: true]], ref?("scipy.spatial.transform._rotation.Rotation")},
      {"scipy", :function, Scipy.Special, :gamma, [5], 24.0},
      {"scipy", :instance_method, Scipy.Stats.Norm, :cdf, [0], 0.5},
      {"scipy", :instance_method, Scipy.Stats.Norm, :ppf, [0.5], 0.0},
      {"scipy", :function, Scipy.Linalg, :det, [[[1, 2], [3, 4]]], -2.0},
      {"scipy", :function, Scipy.Optimize, :rosen, [[1, 1]], 0.0},
      {"scipy", :function, Scipy.Integrate, :trapezoid, [[1, 2, 3]], 4.0},
      {"scipy", :function, Scipy.Stats, :pearsonr, [[1, 2, 3], [2, 4, 6]], &is_tuple/1},
      {"networkx", :function, Networkx, :path_graph, [4], ref?("networkx.classes.graph.Graph")},
      {"networkx", :function, Networkx, :shortest_path, fn -> graph.() ++ [0, 3] end,
       [0, 1, 2, 3]},
      {"networkx", :function, Networkx, :is_connected, graph, true},
      {"networkx", :constructor, Networkx.Graph, :new, [], ref?("networkx.classes.graph.Graph")},
      {"networkx", :method, Networkx.Graph, :number_of_nodes, graph, 4},
      {"networkx", :method, Networkx.Graph, :has_edge, fn -> graph.() ++ [0, 1] end, true},
      {"networkx", :method, Networkx.Graph, :add_edge,
       fn -> [ok!(Networkx.Graph, :new, []), 1, 2] end, nil},
      {"networkx", :function, Networkx, :density, graph, 0.5},
      {"networkx", :generator, Networkx, :connected_components, graph,
       {:ref, "builtins.generator"}}
    ]
  end
end

defmodule SnakeBridge.Runtime do
  @moduledoc """
  The functions generated wrappers call. Each takes the calling module, whose
  `__snakebridge__/0` names the Python library, module and class.
  """

  @typedoc "Keyword arguments for Python, plus runtime options under `:__runtime__`."
  @type opts :: keyword()

  @doc "Whether `term` is the trailing keyword list of a wrapper call."
  defguard is_opts(term) when term == [] or (is_list(term) and is_tuple(hd(term)))

  @spec call(module(), String.t(), list(), opts()) ::
          {:ok, term()} | {:error, SnakeBridge.Error.t()}
  def call(module, function, args, opts), do: dispatch(:call, module, [function, args, opts])

  @spec call_class(module(), list(), opts()) :: {:ok, term()} | {:error, SnakeBridge.Error.t()}
  def call_class(module, args, opts), do: dispatch(:call_class, module, [args, opts])

  @spec call_method(module(), SnakeBridge.Ref.t(), String.t(), list(), opts()) ::
          {:ok, term()} | {:error, SnakeBridge.Error.t()}
  def call_method(module, ref, method, args, opts),
    do: dispatch(:call_method, module, [ref, method, args, opts])

  @spec get_attr(module(), SnakeBridge.Ref.t(), String.t(), opts()) ::
          {:ok, term()} | {:error, SnakeBridge.Error.t()}
  def get_attr(module, ref, attr, opts), do: dispatch(:get_attr, module, [ref, attr, opts])

  @spec get_module_attr(module(), String.t(), opts()) ::
          {:ok, term()} | {:error, SnakeBridge.Error.t()}
  def get_module_attr(module, attr, opts), do: dispatch(:get_module_attr, module, [attr, opts])

  @doc false
  def call!(module, function, args, opts), do: unwrap!(call(module, function, args, opts))
  @doc false
  def call_class!(module, args, opts), do: unwrap!(call_class(module, args, opts))
  @doc false
  def call_method!(module, ref, method, args, opts),
    do: unwrap!(call_method(module, ref, method, args, opts))

  @doc false
  def get_attr!(module, ref, attr, opts), do: unwrap!(get_attr(module, ref, attr, opts))
  @doc false
  def get_module_attr!(module, attr, opts), do: unwrap!(get_module_attr(module, attr, opts))

  @doc "Returns the value of an `{:ok, value}` result, or raises its error."
  @spec unwrap!({:ok, term()} | {:error, SnakeBridge.Error.t()}) :: term()
  def unwrap!({:ok, value}), do: value
  def unwrap!({:error, %SnakeBridge.Error{} = error}), do: raise(error)

  defp dispatch(_operation, _module, _args) do
    {:error,
     %SnakeBridge.Error{
       message: "the snakebridge runtime is not available in this build",
       python_type: nil
     }}
  end
end

namespace MinRnn.IO;

/// <summary>A float32 tensor to write: its name, its shape (row-major, outermost first) and its elements.</summary>
/// <param name="Name">Name in the file, e.g. <c>layers.0.gate_hidden.weight</c>.</param>
/// <param name="Shape">Dimensions, outermost first; an empty shape is a scalar holding one element.</param>
/// <param name="Data">Exactly the product of <paramref name="Shape"/> elements, row-major.</param>
internal readonly record struct NamedTensor(string Name, int[] Shape, ReadOnlyMemory<float> Data);

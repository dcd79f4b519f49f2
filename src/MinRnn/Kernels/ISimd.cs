using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MinRnn.Kernels;

/// <summary>
/// The operations a kernel needs from one vector of floats. Kernels are written once, generic
/// over an implementation of this interface, and the JIT specialises them for each width:
/// <see cref="Simd512"/>, <see cref="Simd256"/>, <see cref="Simd128"/> and <see cref="SimdScalar"/>
/// (a "vector" of one float, which also handles the tails that do not fill a vector).
/// </summary>
internal unsafe interface ISimd<TV> where TV : struct
{
    static abstract int Count { get; }
    static abstract TV Zero { get; }
    static abstract TV Broadcast(float x);
    static abstract TV Load(float* p);
    static abstract void Store(float* p, TV v);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    static abstract TV Div(TV a, TV b);
    /// <summary>a * b + c with one rounding.</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    static abstract TV Max(TV a, TV b);
    static abstract TV Min(TV a, TV b);
    static abstract TV Abs(TV a);
    static abstract TV Neg(TV a);
    static abstract TV Sqrt(TV a);
    /// <summary>e^a, within 2 ulp; 0 below -87.3, +inf above 88.7 (see <see cref="SimdMath.ExpPolynomial{TOps, TV}"/>).</summary>
    static abstract TV Exp(TV a);
    /// <summary>ln a for positive normal a, within 2 ulp; -inf below the smallest normal, +inf for +inf.</summary>
    static abstract TV Log(TV a);
    /// <summary>Round to the nearest integer (ties to even).</summary>
    static abstract TV Round(TV a);
    /// <summary>a * 2^n for integral n in [-126, 127].</summary>
    static abstract TV ScaleByPowerOfTwo(TV a, TV n);
    /// <summary>Splits a positive normal a into mantissa m in [1, 2) and exponent e with a = m 2^e.</summary>
    static abstract TV Decompose(TV a, out TV exponent);
    /// <summary>Lane-wise <c>a &gt;= 0 ? ifTrue : ifFalse</c>.</summary>
    static abstract TV SelectNonNegative(TV a, TV ifTrue, TV ifFalse);
    /// <summary>Lane-wise <c>a &lt; threshold ? ifTrue : ifFalse</c>.</summary>
    static abstract TV SelectLess(TV a, TV threshold, TV ifTrue, TV ifFalse);
    /// <summary>Sum of the lanes.</summary>
    static abstract float Sum(TV a);
    /// <summary>True when any lane is NaN or infinite.</summary>
    static abstract bool AnyNonFinite(TV a);
}

internal unsafe struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Neg(Vector512<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sqrt(Vector512<float> a) => Vector512.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exp(Vector512<float> a) => SimdMath.ExpPolynomial<Simd512, Vector512<float>>(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Log(Vector512<float> a) => SimdMath.LogPolynomial<Simd512, Vector512<float>>(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Round(Vector512<float> a) => Vector512.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleByPowerOfTwo(Vector512<float> a, Vector512<float> n) =>
        a * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Decompose(Vector512<float> a, out Vector512<float> exponent)
    {
        var bits = a.AsInt32();
        exponent = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(bits, 23) - Vector512.Create(127));
        return ((bits & Vector512.Create(0x007FFFFF)) | Vector512.Create(0x3F800000)).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectNonNegative(Vector512<float> a, Vector512<float> t, Vector512<float> f) =>
        Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(a, Vector512<float>.Zero), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectLess(Vector512<float> a, Vector512<float> threshold, Vector512<float> t, Vector512<float> f) =>
        Vector512.ConditionalSelect(Vector512.LessThan(a, threshold), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> a) => Vector512.Sum(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AnyNonFinite(Vector512<float> a) => !Vector512.EqualsAll(a - a, Vector512<float>.Zero);
}

internal unsafe struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Neg(Vector256<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sqrt(Vector256<float> a) => Vector256.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Exp(Vector256<float> a) => SimdMath.ExpPolynomial<Simd256, Vector256<float>>(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Log(Vector256<float> a) => SimdMath.LogPolynomial<Simd256, Vector256<float>>(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Round(Vector256<float> a) => Vector256.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaleByPowerOfTwo(Vector256<float> a, Vector256<float> n) =>
        a * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Decompose(Vector256<float> a, out Vector256<float> exponent)
    {
        var bits = a.AsInt32();
        exponent = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(bits, 23) - Vector256.Create(127));
        return ((bits & Vector256.Create(0x007FFFFF)) | Vector256.Create(0x3F800000)).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SelectNonNegative(Vector256<float> a, Vector256<float> t, Vector256<float> f) =>
        Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, Vector256<float>.Zero), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SelectLess(Vector256<float> a, Vector256<float> threshold, Vector256<float> t, Vector256<float> f) =>
        Vector256.ConditionalSelect(Vector256.LessThan(a, threshold), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> a) => Vector256.Sum(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AnyNonFinite(Vector256<float> a) => !Vector256.EqualsAll(a - a, Vector256<float>.Zero);
}

internal unsafe struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector128<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Div(Vector128<float> a, Vector128<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Abs(Vector128<float> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Neg(Vector128<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sqrt(Vector128<float> a) => Vector128.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Exp(Vector128<float> a) => SimdMath.ExpPolynomial<Simd128, Vector128<float>>(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Log(Vector128<float> a) => SimdMath.LogPolynomial<Simd128, Vector128<float>>(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Round(Vector128<float> a) => Vector128.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ScaleByPowerOfTwo(Vector128<float> a, Vector128<float> n) =>
        a * Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Decompose(Vector128<float> a, out Vector128<float> exponent)
    {
        var bits = a.AsInt32();
        exponent = Vector128.ConvertToSingle(Vector128.ShiftRightLogical(bits, 23) - Vector128.Create(127));
        return ((bits & Vector128.Create(0x007FFFFF)) | Vector128.Create(0x3F800000)).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SelectNonNegative(Vector128<float> a, Vector128<float> t, Vector128<float> f) =>
        Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(a, Vector128<float>.Zero), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SelectLess(Vector128<float> a, Vector128<float> threshold, Vector128<float> t, Vector128<float> f) =>
        Vector128.ConditionalSelect(Vector128.LessThan(a, threshold), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> a) => Vector128.Sum(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AnyNonFinite(Vector128<float> a) => !Vector128.EqualsAll(a - a, Vector128<float>.Zero);
}

internal unsafe struct SimdScalar : ISimd<float>
{
    public static int Count => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Broadcast(float x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, float v) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sub(float a, float b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Mul(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Div(float a, float b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Max(float a, float b) => MathF.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Min(float a, float b) => MathF.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Abs(float a) => MathF.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Neg(float a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sqrt(float a) => MathF.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Exp(float a) => SimdMath.ExpPolynomial<SimdScalar, float>(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Log(float a) => SimdMath.LogPolynomial<SimdScalar, float>(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Round(float a) => MathF.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ScaleByPowerOfTwo(float a, float n) => a * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Decompose(float a, out float exponent)
    {
        int bits = BitConverter.SingleToInt32Bits(a);
        exponent = (bits >>> 23) - 127;
        return BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F800000);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SelectNonNegative(float a, float t, float f) => a >= 0f ? t : f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SelectLess(float a, float threshold, float t, float f) => a < threshold ? t : f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(float a) => a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool AnyNonFinite(float a) => !float.IsFinite(a);
}

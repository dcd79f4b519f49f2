using System.Runtime.CompilerServices;
using MinRnn.Kernels;

namespace MinRnn.Layers;

/// <summary>
/// One time step of a classic cell for one stream, W channels at a time. xp and hp are the rows of the
/// input and recurrent pre-activations (G groups of width H, PyTorch's gate order), saved holds the
/// activations the backward needs (4 groups of width H), and c is the LSTM's cell state.
/// </summary>
internal unsafe interface IClassicGate
{
    /// <summary>Forward at channels [j, j + W): h_t (and c_t) from the pre-activations and h_{t-1} (c_{t-1}).</summary>
    static abstract void Forward<TOps, TV>(float* xp, float* hp, float* hPrevious, float* cPrevious, float* h, float* c, float* saved, int hidden, int j)
        where TOps : struct, ISimd<TV> where TV : struct;

    /// <summary>
    /// Backward at channels [j, j + W): from dL/dh_t = dOut + dNext, the gradients of the input and the
    /// recurrent pre-activations, the part of dL/dh_{t-1} that does not pass through W_hh (into direct), and
    /// for the LSTM dL/dc_t → dL/dc_{t-1} in place in dc.
    /// </summary>
    static abstract void Backward<TOps, TV>(float* saved, float* hPrevious, float* cPrevious, float* c, float* dOut, float* dNext,
        float* dc, float* dxp, float* dhp, float* direct, int hidden, int j) where TOps : struct, ISimd<TV> where TV : struct;
}

/// <summary>
/// PyTorch's GRU: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ⊙ h_n), h_t = (1 - z) ⊙ n + z ⊙ h_{t-1},
/// where h_· = W_h· h_{t-1} + b_h·. Saved: r, z, n, h_n.
/// </summary>
internal unsafe struct GruGate : IClassicGate
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward<TOps, TV>(float* xp, float* hp, float* hPrevious, float* cPrevious, float* h, float* c, float* saved, int hidden, int j)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int rz = j, zz = hidden + j, nz = 2 * hidden + j;
        TV r = SimdMath.Sigmoid<TOps, TV>(TOps.Add(TOps.Load(xp + rz), TOps.Load(hp + rz)));
        TV z = SimdMath.Sigmoid<TOps, TV>(TOps.Add(TOps.Load(xp + zz), TOps.Load(hp + zz)));
        TV hn = TOps.Load(hp + nz);
        TV n = SimdMath.Tanh<TOps, TV>(TOps.Fma(r, hn, TOps.Load(xp + nz)));
        TV previous = TOps.Load(hPrevious + j);
        TOps.Store(h + j, TOps.Fma(z, TOps.Sub(previous, n), n)); // (1 - z) n + z h = n + z (h - n)
        TOps.Store(saved + rz, r);
        TOps.Store(saved + zz, z);
        TOps.Store(saved + nz, n);
        TOps.Store(saved + 3 * hidden + j, hn);
    }

    /// <summary>
    /// dn = dh (1 - z), dz = dh (h_{t-1} - n), direct = dh z; n' = dn (1 - n²) goes to x_n and, times r, to h_n;
    /// dr = n' h_n; r' = dr r (1 - r) and z' = dz z (1 - z) go to both x and h.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TOps, TV>(float* saved, float* hPrevious, float* cPrevious, float* c, float* dOut, float* dNext,
        float* dc, float* dxp, float* dhp, float* direct, int hidden, int j) where TOps : struct, ISimd<TV> where TV : struct
    {
        int rz = j, zz = hidden + j, nz = 2 * hidden + j;
        TV one = TOps.Broadcast(1f);
        TV r = TOps.Load(saved + rz), z = TOps.Load(saved + zz), n = TOps.Load(saved + nz), hn = TOps.Load(saved + 3 * hidden + j);
        TV dh = TOps.Add(TOps.Load(dOut + j), TOps.Load(dNext + j));
        TV dnPre = TOps.Mul(TOps.Mul(dh, TOps.Sub(one, z)), TOps.Sub(one, TOps.Mul(n, n)));
        TV dzPre = TOps.Mul(TOps.Mul(dh, TOps.Sub(TOps.Load(hPrevious + j), n)), TOps.Mul(z, TOps.Sub(one, z)));
        TV drPre = TOps.Mul(TOps.Mul(dnPre, hn), TOps.Mul(r, TOps.Sub(one, r)));
        TOps.Store(dxp + rz, drPre); TOps.Store(dhp + rz, drPre);
        TOps.Store(dxp + zz, dzPre); TOps.Store(dhp + zz, dzPre);
        TOps.Store(dxp + nz, dnPre); TOps.Store(dhp + nz, TOps.Mul(dnPre, r));
        TOps.Store(direct + j, TOps.Mul(dh, z));
    }
}

/// <summary>
/// PyTorch's LSTM: i = σ(·), f = σ(·), g = tanh(·), o = σ(·) of x_· + h_·, c_t = f ⊙ c_{t-1} + i ⊙ g,
/// h_t = o ⊙ tanh(c_t). Saved: i, f, g, o (c_t is kept by the caller).
/// </summary>
internal unsafe struct LstmGate : IClassicGate
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward<TOps, TV>(float* xp, float* hp, float* hPrevious, float* cPrevious, float* h, float* c, float* saved, int hidden, int j)
        where TOps : struct, ISimd<TV> where TV : struct
    {
        int iz = j, fz = hidden + j, gz = 2 * hidden + j, oz = 3 * hidden + j;
        TV i = SimdMath.Sigmoid<TOps, TV>(TOps.Add(TOps.Load(xp + iz), TOps.Load(hp + iz)));
        TV f = SimdMath.Sigmoid<TOps, TV>(TOps.Add(TOps.Load(xp + fz), TOps.Load(hp + fz)));
        TV g = SimdMath.Tanh<TOps, TV>(TOps.Add(TOps.Load(xp + gz), TOps.Load(hp + gz)));
        TV o = SimdMath.Sigmoid<TOps, TV>(TOps.Add(TOps.Load(xp + oz), TOps.Load(hp + oz)));
        TV cell = TOps.Fma(f, TOps.Load(cPrevious + j), TOps.Mul(i, g));
        TOps.Store(c + j, cell);
        TOps.Store(h + j, TOps.Mul(o, SimdMath.Tanh<TOps, TV>(cell)));
        TOps.Store(saved + iz, i);
        TOps.Store(saved + fz, f);
        TOps.Store(saved + gz, g);
        TOps.Store(saved + oz, o);
    }

    /// <summary>
    /// With τ = tanh(c_t): do = dh τ, dc_t += dh o (1 - τ²); di = dc g, df = dc c_{t-1}, dg = dc i,
    /// dc_{t-1} = dc f; each gate's pre-activation gradient goes to both x and h. No direct path to h_{t-1}.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TOps, TV>(float* saved, float* hPrevious, float* cPrevious, float* c, float* dOut, float* dNext,
        float* dc, float* dxp, float* dhp, float* direct, int hidden, int j) where TOps : struct, ISimd<TV> where TV : struct
    {
        int iz = j, fz = hidden + j, gz = 2 * hidden + j, oz = 3 * hidden + j;
        TV one = TOps.Broadcast(1f);
        TV i = TOps.Load(saved + iz), f = TOps.Load(saved + fz), g = TOps.Load(saved + gz), o = TOps.Load(saved + oz);
        TV dh = TOps.Add(TOps.Load(dOut + j), TOps.Load(dNext + j));
        TV tau = SimdMath.Tanh<TOps, TV>(TOps.Load(c + j));
        TV dCell = TOps.Fma(TOps.Mul(dh, o), TOps.Sub(one, TOps.Mul(tau, tau)), TOps.Load(dc + j));
        TV di = TOps.Mul(TOps.Mul(dCell, g), TOps.Mul(i, TOps.Sub(one, i)));
        TV df = TOps.Mul(TOps.Mul(dCell, TOps.Load(cPrevious + j)), TOps.Mul(f, TOps.Sub(one, f)));
        TV dg = TOps.Mul(TOps.Mul(dCell, i), TOps.Sub(one, TOps.Mul(g, g)));
        TV dO = TOps.Mul(TOps.Mul(dh, tau), TOps.Mul(o, TOps.Sub(one, o)));
        TOps.Store(dxp + iz, di); TOps.Store(dhp + iz, di);
        TOps.Store(dxp + fz, df); TOps.Store(dhp + fz, df);
        TOps.Store(dxp + gz, dg); TOps.Store(dhp + gz, dg);
        TOps.Store(dxp + oz, dO); TOps.Store(dhp + oz, dO);
        TOps.Store(dc + j, TOps.Mul(dCell, f));
    }
}

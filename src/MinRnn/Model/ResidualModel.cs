using MinRnn.Layers;

namespace MinRnn.Model;

/// <summary>
/// The paper's language model (spec §3 "residual"). Block i maps x to
/// x1 = x + drop(conv(x)), x2 = x1 + drop(to_out(cell(rmsnorm1(x1)))),
/// x3 = x2 + drop(mlp_down(gelu(mlp_up(rmsnorm2(x2))))), and the head reads rmsnorm_f(x_L).
/// Each block keeps the activations its backward needs; the gradient w.r.t. the residual stream is
/// updated in place, each branch's backward adding its share. With an MLP multiplier of 0 the block has
/// no MLP branch (nor its norm2): its output is x2.
/// </summary>
internal sealed class ResidualModel : LanguageModel
{
    sealed class Block
    {
        public Parameter? ConvWeight, ConvBias;
        public required Parameter Norm1, CellWeight, CellBias, OutWeight, OutBias;
        public Parameter? Norm2, UpWeight, UpBias, DownWeight, DownBias;
        // Activations of the last forward.
        public float[] X1 = [], N1 = [], Pre = [], H = [], X2 = [], N2 = [], Up = [], Gelu = [], Output = [];

        /// <summary>The block's output of the last forward: after the MLP branch, or x2 when there is none.</summary>
        public float[] Result => UpWeight is null ? X2 : Output;
    }

    readonly Block[] blocks;
    readonly Parameter normF;
    float[] headInput = [], branch = [], dHidden = [], dPre = [], dUp = [];
    int batch, time;

    public ResidualModel(ModelConfig config) : base(config)
    {
        int d = config.Dim, h = config.Hidden, g = config.Cell.Gates(), m = config.MlpMultiplier * d, k = config.ConvKernel;
        string cell = config.Cell == RecurrentCell.MinGru ? "gate_hidden" : "gates_hidden";
        blocks = new Block[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"layers.{i}.";
            Parameter? convWeight = k > 0 ? AddParameter(p + "conv.weight", [d, 1, k], decay: true) : null;
            Parameter? convBias = k > 0 ? AddParameter(p + "conv.bias", [d], decay: false) : null;
            var block = new Block
            {
                ConvWeight = convWeight,
                ConvBias = convBias,
                Norm1 = AddParameter(p + "norm1.weight", [d], decay: false),
                CellWeight = AddParameter(p + $"cell.{cell}.weight", [g * h, d], decay: true),
                CellBias = AddParameter(p + $"cell.{cell}.bias", [g * h], decay: false),
                OutWeight = AddParameter(p + "to_out.weight", [d, h], decay: true),
                OutBias = AddParameter(p + "to_out.bias", [d], decay: false),
            };
            if (m > 0)
            {
                block.Norm2 = AddParameter(p + "norm2.weight", [d], decay: false);
                block.UpWeight = AddParameter(p + "mlp_up.weight", [m, d], decay: true);
                block.UpBias = AddParameter(p + "mlp_up.bias", [m], decay: false);
                block.DownWeight = AddParameter(p + "mlp_down.weight", [d, m], decay: true);
                block.DownBias = AddParameter(p + "mlp_down.bias", [d], decay: false);
            }
            blocks[i] = block;
        }
        normF = AddParameter("norm_f.weight", [d], decay: false);
        AddHead();
    }

    // Per block: x1 (with a conv), n1, pre, h, x2, n2, up, gelu, output; then the head input and the
    // branch scratch; in backward dHidden, dPre and dUp.
    protected override long BodyFloatsPerRow()
    {
        long d = Config.Dim, h = Config.Hidden, g = Config.Cell.Gates(), m = Config.MlpMultiplier * d;
        long block = (Config.ConvKernel > 0 ? d : 0) + 2 * d + g * h + h + (m > 0 ? 2 * d + 2 * m : 0);
        return Config.Layers * block + 2 * d + h + g * h + m;
    }

    protected override ReadOnlySpan<float> HeadInput => Rows(headInput, Config.Dim);

    protected override ReadOnlySpan<float> ForwardBody(Span<float> x, int batch, int time, RecurrentState? state)
    {
        this.batch = batch;
        this.time = time;
        int d = Config.Dim, h = Config.Hidden, g = Config.Cell.Gates(), m = Config.MlpMultiplier * d, k = Config.ConvKernel;
        int rows = batch * time;
        float p = Config.Dropout;
        Grow(ref branch, (long)rows * d);
        var scratch = Rows(branch, d);
        ReadOnlySpan<float> input = x;
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            long n = rows;
            if (k > 0) Grow(ref b.X1, n * d);
            Grow(ref b.N1, n * d); Grow(ref b.Pre, n * g * h); Grow(ref b.H, n * h); Grow(ref b.X2, n * d);
            if (m > 0) { Grow(ref b.N2, n * d); Grow(ref b.Up, n * m); Grow(ref b.Gelu, n * m); Grow(ref b.Output, n * d); }

            ReadOnlySpan<float> x1 = input;
            if (k > 0)
            {
                Convolve(input, b.ConvWeight!, b.ConvBias!, scratch, batch, time, state is null ? default : state.ConvHistory[i]);
                AddBranch(input, scratch, Rows(b.X1, d), 3 * i + 1);
                x1 = Rows(b.X1, d);
            }
            RmsNorm.Forward(x1, b.Norm1.Value, Rows(b.N1, d), rows, d);
            Project(Rows(b.N1, d), b.CellWeight, b.CellBias, Rows(b.Pre, g * h), rows);
            MinRnnScan.Forward(Config.Cell, Scan, Rows(b.Pre, g * h), state is null ? default : state.Hidden[i], Rows(b.H, h), batch, time, h);
            state?.KeepLastHidden(i, Rows(b.H, h), time);
            Project(Rows(b.H, h), b.OutWeight, b.OutBias, scratch, rows);
            AddBranch(x1, scratch, Rows(b.X2, d), 3 * i + 2);

            if (m > 0)
            {
                RmsNorm.Forward(Rows(b.X2, d), b.Norm2!.Value, Rows(b.N2, d), rows, d);
                Project(Rows(b.N2, d), b.UpWeight!, b.UpBias, Rows(b.Up, m), rows);
                Layers.Gelu.Forward(Rows(b.Up, m), Rows(b.Gelu, m));
                Project(Rows(b.Gelu, m), b.DownWeight!, b.DownBias, scratch, rows);
                AddBranch(Rows(b.X2, d), scratch, Rows(b.Output, d), 3 * i + 3);
            }
            input = Rows(b.Result, d);
        }
        Grow(ref headInput, (long)rows * d);
        RmsNorm.Forward(input, normF.Value, Rows(headInput, d), rows, d);
        return Rows(headInput, d);
    }

    protected override bool BackwardBody(Span<float> dHeadInput, Span<float> dx)
    {
        int d = Config.Dim, h = Config.Hidden, g = Config.Cell.Gates(), m = Config.MlpMultiplier * d, k = Config.ConvKernel;
        int rows = batch * time;
        float p = Config.Dropout;
        Grow(ref dHidden, (long)rows * h);
        Grow(ref dPre, (long)rows * g * h);
        Grow(ref dUp, (long)rows * m);
        var scratch = Rows(branch, d);
        // dx holds the gradient w.r.t. the residual stream, from the top of the model down to the embedding.
        RmsNorm.Backward(Rows(blocks[^1].Result, d), normF.Value, dHeadInput, dx, normF.Gradient, rows, d);
        var dNorm = dHeadInput; // free from here on: the branches' d(norm output)
        for (int i = blocks.Length - 1; i >= 0; i--)
        {
            var b = blocks[i];
            ReadOnlySpan<float> input = i == 0 ? Embedded : Rows(blocks[i - 1].Result, d);
            ReadOnlySpan<float> x1 = k > 0 ? Rows(b.X1, d) : input;

            ReadOnlySpan<float> dBranch;
            if (m > 0)
            {
                dBranch = DropoutBackward(dx, scratch, 3 * i + 3);
                Linear.Backward(Rows(b.Gelu, m), b.DownWeight!.Value, dBranch, Rows(dUp, m), b.DownWeight.Gradient, b.DownBias!.Gradient, rows, m, d);
                Layers.Gelu.Backward(Rows(b.Up, m), Rows(dUp, m), Rows(dUp, m));
                Linear.Backward(Rows(b.N2, d), b.UpWeight!.Value, Rows(dUp, m), dNorm, b.UpWeight.Gradient, b.UpBias!.Gradient, rows, d, m);
                RmsNorm.Backward(Rows(b.X2, d), b.Norm2!.Value, dNorm, dx, b.Norm2.Gradient, rows, d, accumulateDx: true);
            }

            dBranch = DropoutBackward(dx, scratch, 3 * i + 2);
            Linear.Backward(Rows(b.H, h), b.OutWeight.Value, dBranch, Rows(dHidden, h), b.OutWeight.Gradient, b.OutBias.Gradient, rows, h, d);
            MinRnnScan.Backward(Config.Cell, Rows(b.Pre, g * h), default, Rows(b.H, h), Rows(dHidden, h), Rows(dPre, g * h), default, batch, time, h);
            Linear.Backward(Rows(b.N1, d), b.CellWeight.Value, Rows(dPre, g * h), dNorm, b.CellWeight.Gradient, b.CellBias.Gradient, rows, d, g * h);
            RmsNorm.Backward(x1, b.Norm1.Value, dNorm, dx, b.Norm1.Gradient, rows, d, accumulateDx: true);

            if (k > 0)
            {
                // The conv adds into dx, so its dy must be a copy even without dropout.
                if (Training) Dropout.Backward(dx, scratch, p, DropoutStream(3 * i + 1), DropoutOffset);
                else dx.CopyTo(scratch);
                CausalConv.Backward(input, b.ConvWeight!.Value, scratch, dx, b.ConvWeight.Gradient, b.ConvBias!.Gradient,
                    batch, time, d, k, accumulateDx: true);
            }
        }
        return false;
    }
}

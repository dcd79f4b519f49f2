using MinRnn.Training;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MinRnn.Cli.Training;

/// <summary>
/// Shows how a training run is going. On a terminal: a live progress bar, "step 120/2000 ━━━━━━━ 6%", with the
/// <see cref="ProgressLine.Metrics"/> of the latest step under it, redrawn by Spectre.Console at most 10 times a
/// second. When stdout is redirected (CI, a pipe, a file): a plain <see cref="ProgressLine.Step"/> line every few
/// steps. In both modes each evaluation and each <see cref="Message"/> gets a line of its own, above the bar when
/// live. Call it from one thread (the training loop); dispose of it before writing to the console otherwise, also
/// when an exception ends the run (a <c>using</c> does both), so that the bar is finished and the cursor shown again.
/// </summary>
internal sealed class TrainingProgress : IDisposable
{
    /// <summary>The default interval, in steps, between plain lines.</summary>
    public const int DefaultPrintEvery = 100;

    readonly int totalSteps, printEvery;
    readonly TextWriter plain;
    readonly IAnsiConsole? live;
    readonly ProgressTask? bar;
    readonly Task? display;
    readonly ManualResetEventSlim stop = new();
    // Read by Spectre's render thread: one immutable string, swapped whole.
    volatile string status = "";
    StepReport? lastStep;
    EvalReport? lastEval;
    TimeSpan? eta;
    (int Step, TimeSpan Elapsed)? first;
    bool disposed;

    /// <summary>
    /// Shows progress on this process's stdout: live when it is an interactive terminal that understands ANSI
    /// sequences, plain lines otherwise.
    /// </summary>
    /// <param name="totalSteps">Steps the run will have taken at its end.</param>
    /// <param name="startStep">Steps already taken (a resumed run's checkpoint step), so the bar starts there.</param>
    /// <param name="printEvery">Plain mode: a line every this many steps (and at the last step).</param>
    public TrainingProgress(int totalSteps, int startStep = 0, int printEvery = DefaultPrintEvery)
        : this(totalSteps, startStep, printEvery, IsTerminal() ? AnsiConsole.Console : null, Console.Out)
    {
    }

    /// <summary>Shows progress on <paramref name="live"/> when given, else as plain lines on <paramref name="plain"/>.</summary>
    /// <param name="totalSteps">Steps the run will have taken at its end.</param>
    /// <param name="startStep">Steps already taken (a resumed run's checkpoint step), so the bar starts there.</param>
    /// <param name="printEvery">Plain mode: a line every this many steps (and at the last step).</param>
    /// <param name="live">The console of the live display; null for plain lines.</param>
    /// <param name="plain">Where plain lines go when <paramref name="live"/> is null.</param>
    public TrainingProgress(int totalSteps, int startStep, int printEvery, IAnsiConsole? live, TextWriter plain)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(startStep);
        ArgumentOutOfRangeException.ThrowIfLessThan(printEvery, 1);
        this.totalSteps = totalSteps;
        this.printEvery = printEvery;
        this.plain = plain;
        this.live = live;
        if (live is null) return;
        (bar, display) = StartDisplay(live, ProgressLine.Counter(startStep, totalSteps), startStep, totalSteps, () => status, stop);
    }

    /// <summary>Shows a finished training step.</summary>
    public void Update(StepReport step)
    {
        first ??= (step.Step, step.Elapsed);
        lastStep = step;
        eta = Remaining(first.Value, step);
        if (bar is not null)
        {
            bar.Value = step.Step;
            bar.Description = ProgressLine.Counter(step.Step, step.TotalSteps);
            ShowStatus();
        }
        else if (step.Step % printEvery == 0 || step.Step == step.TotalSteps)
        {
            plain.WriteLine(ProgressLine.Step(step, lastEval, eta));
        }
    }

    /// <summary>Shows an evaluation: a line of its own, and its losses on the following step lines.</summary>
    public void Update(EvalReport eval)
    {
        lastEval = eval;
        Message(ProgressLine.Eval(eval, totalSteps));
        // Under the bar too: after the last evaluation no step follows that would show it.
        if (bar is not null) ShowStatus();
    }

    /// <summary>Prints a one-off line, e.g. "saved best checkpoint" (above the bar when live).</summary>
    public void Message(string text)
    {
        // Spectre writes it above the live display; its console lock keeps it from interleaving with a redraw.
        if (live is not null) live.WriteLine(text);
        else plain.WriteLine(text);
    }

    /// <summary>Ends the live display, leaving the bar's last state on screen; does nothing in plain mode.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        stop.Set();
        if (display is not null)
        {
            // A failed display must not hide the exception that may be unwinding the training loop, nor fail a run
            // that went well: it only costs the bar.
            try { display.Wait(); }
            catch (AggregateException e) { Console.Error.WriteLine($"minrnn: warning: the progress display failed: {e.InnerException?.Message}"); }
        }
        stop.Dispose();
    }

    void ShowStatus()
    {
        if (lastStep is not null) status = ProgressLine.Metrics(lastStep, lastEval, eta);
    }

    /// <summary>
    /// Runs Spectre's live progress on a thread of its own until <paramref name="stop"/> is set (Spectre's display
    /// lasts as long as the callback it is given), and returns once the bar exists.
    /// </summary>
    static (ProgressTask Bar, Task Display) StartDisplay(IAnsiConsole console, string description, int startStep, int totalSteps,
        Func<string> status, ManualResetEventSlim stop)
    {
        var created = new TaskCompletionSource<ProgressTask>(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new Progress(console) { AutoClear = false, HideCompleted = false, RefreshRate = TimeSpan.FromMilliseconds(100) }
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
            .UseRenderHook((table, _) => new Rows(table, new Text(status())));
        var display = Task.Factory.StartNew(() => progress.Start(context =>
        {
            var task = context.AddTask(description, maxValue: totalSteps);
            task.Value = startStep;
            created.SetResult(task);
            stop.Wait();
        }), TaskCreationOptions.LongRunning);
        // If Spectre fails before the bar exists (e.g. another live display holds the console), say so here.
        Task.WaitAny(created.Task, display);
        if (display.IsFaulted) display.GetAwaiter().GetResult();
        return (created.Task.Result, display);
    }

    /// <summary>
    /// The time the remaining steps will take at the pace since the first step this process took (whose own time,
    /// with its one-off start-up costs, is left out); null until a second step makes a pace.
    /// </summary>
    static TimeSpan? Remaining((int Step, TimeSpan Elapsed) first, StepReport now) =>
        now.Step > first.Step ? (now.Elapsed - first.Elapsed) / (now.Step - first.Step) * (now.TotalSteps - now.Step) : null;

    static bool IsTerminal() =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities is { Interactive: true, Ansi: true };
}

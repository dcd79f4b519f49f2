namespace MinRnn.Cli.Training;

/// <summary>What the user asked <c>minrnn train</c> for, before it is resolved against a preset or a run to resume.</summary>
internal sealed record TrainRequest(string? Preset, TrainFlags Flags, string? Data, string? Out, bool Resume, int? Threads,
    bool SkipNonFinite);

using System.Text.RegularExpressions;
using Microsoft.Playwright;
using MinRnn.Cli.Serving;

namespace MinRnn.Tests.Serving;

/// <summary>
/// The playground page in headless Chromium against a real Kestrel server: the model card, streamed generation that
/// grows and stops, labels and keyboard use, the API key prompt; and a screenshot.
/// Drives Debian's Chromium, since Playwright's own browser download is not reachable from the build machines.
/// </summary>
public sealed class PlaygroundPageTests(PlaygroundPageTests.BrowserFixture browser) : IClassFixture<PlaygroundPageTests.BrowserFixture>
{
    const string Chromium = "/usr/bin/chromium";

    /// <summary>The served model and one Chromium, shared by the tests; each test opens its own page.</summary>
    public sealed class BrowserFixture : IAsyncLifetime
    {
        internal ServedModels Served { get; } = new();
        IPlaywright? playwright;
        IBrowser? chromium;

        public async Task InitializeAsync()
        {
            // A missing browser is left for each test to report as its failure, in one line, instead of a fixture error.
            if (!File.Exists(Chromium)) return;
            playwright = await Playwright.CreateAsync();
            chromium = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
        }

        /// <summary>
        /// A new browser context of the screenshot's size whose console errors and uncaught exceptions land in
        /// <paramref name="errors"/>. Disposed before the server, it closes its pages' open streams first.
        /// </summary>
        internal async Task<IBrowserContext> NewContextAsync(List<string> errors)
        {
            if (chromium is null) Assert.Fail($"{Chromium} is missing: the playground tests need Debian's Chromium (apt-get install chromium).");
            var context = await chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
            context.Console += (_, message) => { if (message.Type == "error") errors.Add($"console: {message.Text}"); };
            context.WebError += (_, error) => errors.Add($"page error: {error.Error}");
            return context;
        }

        public async Task DisposeAsync()
        {
            if (chromium is not null) await chromium.DisposeAsync();
            playwright?.Dispose();
            Served.Dispose();
        }
    }

    /// <summary>The fields and the label each is found by, in page order, which is also the order Tab visits them in.</summary>
    static readonly (string Label, string Id)[] Fields =
    [
        ("Model", "model"), ("Prompt", "prompt"), ("Temperature", "temperature"), ("Top-k (0 = off)", "top-k"),
        ("Top-p", "top-p"), ("Length", "max-tokens"), ("Seed", "seed"),
    ];

    static Task<int> GeneratedLengthAsync(IPage page) => page.EvaluateAsync<int>("() => document.getElementById('generated').textContent.length");

    static async Task<string> GeneratedAsync(IPage page) => await page.Locator("#generated").TextContentAsync() ?? "";

    /// <summary>Fails unless the generated text, once there, is longer after a short wait: the stream is still running.</summary>
    static async Task AssertGrowingAsync(IPage page)
    {
        await page.WaitForFunctionAsync("() => document.getElementById('generated').textContent.length > 0");
        int first = await GeneratedLengthAsync(page);
        await Task.Delay(300);
        int second = await GeneratedLengthAsync(page);
        Assert.True(first > 0 && second > first, $"the generated text did not grow: {first}, then {second} characters");
    }

    /// <summary>Fails unless the generated text stays as long after a short wait: nothing arrives after Stop.</summary>
    static async Task AssertStillAsync(IPage page)
    {
        int first = await GeneratedLengthAsync(page);
        await Task.Delay(300);
        Assert.Equal(first, await GeneratedLengthAsync(page));
    }

    // A page that stops answering would leave Playwright waiting without end: the timeout turns that into a failure.
    [Fact(Timeout = 60_000)]
    public async Task ThePageShowsTheCardStreamsTextThatGrowsUntilStopAndWorksFromTheKeyboard()
    {
        // The tiny model writes some 200,000 characters a second: a length it cannot reach while the test watches, so
        // that only Stop ends the stream.
        const int Length = 10_000_000;
        await using var server = await RunningServer.KestrelAsync(browser.Served, ServeOptions.Defaults with { MaxTokens = Length });
        var errors = new List<string>();
        await using var context = await browser.NewContextAsync(errors);
        var page = await context.NewPageAsync();
        await page.GotoAsync(server.Address.ToString());

        await Assertions.Expect(page.Locator("#model")).ToHaveValueAsync("tiny");
        await Assertions.Expect(page.Locator("#card-title")).ToHaveTextAsync("Model: tiny");
        long parameters = browser.Served.Models["tiny"].Model.ParameterCount;
        await Assertions.Expect(page.Locator("#card-list")).ToContainTextAsync($"Parameters{parameters:N0}");
        await Assertions.Expect(page.Locator("#loss-curve")).ToBeVisibleAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => document.getElementById('loss-curve').naturalWidth > 0"), "the loss curve did not load");

        // Every control has a name for screen readers: the fields by their labels, the buttons by their text.
        foreach (var (label, id) in Fields)
            Assert.Equal(id, await page.GetByLabel(label, new() { Exact = true }).GetAttributeAsync("id"));
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Generate", Exact = true })).ToBeEnabledAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Stop", Exact = true })).ToBeDisabledAsync();
        foreach (var control in await page.Locator("input:visible, select:visible, textarea:visible, button:visible").AllAsync())
            await Assertions.Expect(control).ToHaveAccessibleNameAsync(new Regex(@"\S"));

        await page.GetByLabel("Prompt").PressSequentiallyAsync("ROMEO:\n");
        await page.GetByLabel("Seed").FillAsync("7");
        await page.GetByLabel("Length").FillAsync($"{Length}");

        // Tab goes from the prompt through the settings, in reading order, to Generate.
        await page.GetByLabel("Prompt").FocusAsync();
        var visited = new List<string>();
        for (int i = 0; i < Fields.Length - 1; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            visited.Add(await page.EvaluateAsync<string>("() => document.activeElement.id"));
        }
        Assert.Equal([.. Fields.Skip(2).Select(f => f.Id), "generate"], visited);

        await page.GetByRole(AriaRole.Button, new() { Name = "Generate" }).ClickAsync();
        await Assertions.Expect(page.Locator("#stop")).ToBeEnabledAsync();
        await Assertions.Expect(page.Locator("#generate")).ToBeDisabledAsync();
        await AssertGrowingAsync(page);
        await Assertions.Expect(page.Locator("#rate")).ToHaveTextAsync(new Regex(@"^[\d,]+ characters/s$"));

        // A picture a few hundred characters in, with the rate showing: into MINRNN_SCREENSHOT when set, else a temporary file.
        await page.WaitForFunctionAsync("() => document.getElementById('generated').textContent.length >= 400");
        string screenshot = Environment.GetEnvironmentVariable("MINRNN_SCREENSHOT") is { Length: > 0 } path ? path : Path.Combine(Path.GetTempPath(), "minrnn-playground.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot });
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is nearly empty");

        await page.GetByRole(AriaRole.Button, new() { Name = "Stop" }).ClickAsync();
        await Assertions.Expect(page.Locator("#generate")).ToBeEnabledAsync();
        await Assertions.Expect(page.Locator("#stop")).ToBeDisabledAsync();
        await Assertions.Expect(page.Locator("#rate")).ToHaveTextAsync(new Regex(@"^stopped — [\d,]+ characters in "));
        await AssertStillAsync(page);
        await server.AssertNoActiveStreamsAsync();
        string stopped = await GeneratedAsync(page);

        // Ctrl+Enter in the prompt generates again; the same seed starts the same text.
        await page.GetByLabel("Prompt").FocusAsync();
        await page.Keyboard.PressAsync("Control+Enter");
        await Assertions.Expect(page.Locator("#stop")).ToBeEnabledAsync();
        await AssertGrowingAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop" }).ClickAsync();
        await Assertions.Expect(page.Locator("#generate")).ToBeEnabledAsync();
        string again = await GeneratedAsync(page);
        Assert.True(again.StartsWith(stopped, StringComparison.Ordinal) || stopped.StartsWith(again, StringComparison.Ordinal),
            $"the same seed gave different text: {stopped.Length} and {again.Length} characters");

        await Assertions.Expect(page.Locator("#error")).ToBeEmptyAsync();
        await server.AssertNoActiveStreamsAsync();
        Assert.Empty(errors);
    }

    [Fact(Timeout = 60_000)]
    public async Task WithAnApiKeyThePageAsksForItAndTheKeyLoadsTheModels()
    {
        await using var server = await RunningServer.KestrelAsync(browser.Served, ServeOptions.Defaults with { ApiKey = "sesame" });
        var errors = new List<string>();
        await using var context = await browser.NewContextAsync(errors);
        var page = await context.NewPageAsync();
        await page.GotoAsync(server.Address.ToString());

        var key = page.GetByLabel("API key");
        await Assertions.Expect(key).ToBeVisibleAsync();
        await Assertions.Expect(key).ToBeFocusedAsync();
        await Assertions.Expect(page.Locator("#model option")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#error")).ToBeEmptyAsync();

        await key.FillAsync("sesame");
        await key.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#model")).ToHaveValueAsync("tiny");
        await Assertions.Expect(page.Locator("#card-title")).ToHaveTextAsync("Model: tiny");

        // The browser reports the first, refused request as a console error; nothing else may fail.
        Assert.All(errors, error => Assert.Contains("401", error));
    }
}

using System.Reflection;
using System.Text.RegularExpressions;
using MinRnn.Model;

namespace MinRnn.Tests.Cli;

public class VersionTests
{
    [Fact]
    public void VersionPrintsThePackagesVersionAlone()
    {
        var run = CliRunner.Run("--version");
        Assert.True(run.ExitCode == 0, run.Error);
        string library = typeof(Checkpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(library, run.Output.Trim());
        Assert.Matches(new Regex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"), library);
    }
}

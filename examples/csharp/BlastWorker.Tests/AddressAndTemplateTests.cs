using Ferry.Examples.Blast;
using Xunit;

namespace Ferry.Examples.Tests;

public class AddressAndTemplateTests
{
    [Theory]
    [InlineData("ann@example.com")]
    [InlineData("a.b+c@mail.example.co.uk")]
    [InlineData("x_y-z@ex-ample.io")]
    public void PlausibleAddressesPass(string address) => Assert.True(Address.IsValid(address), address);

    [Theory]
    [InlineData("")]
    [InlineData("ann")]
    [InlineData("ann@")]
    [InlineData("@example.com")]
    [InlineData("ann@example")]
    [InlineData("ann@@example.com")]
    [InlineData("ann lee@example.com")]
    [InlineData("farid.khan(at)example")]
    [InlineData("ann@-example.com")]
    [InlineData("ann@example..com")]
    [InlineData(".ann@example.com")]
    [InlineData("ann..lee@example.com")]
    [InlineData("ann@example.c0m")]
    [InlineData("ann@exa mple.com")]
    [InlineData("ännä@example.com")]
    public void BrokenAddressesFail(string address) => Assert.False(Address.IsValid(address), address);

    [Fact]
    public void PlaceholdersAreFilledInSubjectAndBody()
    {
        var template = new Template { Subject = "Hi {{name}}", Body = "{{ name }} <{{email}}>" };
        var (subject, body) = template.Render(new Customer { Name = "Ann", Email = "ann@example.com" });
        Assert.Equal("Hi Ann", subject);
        Assert.Equal("Ann <ann@example.com>", body);
    }

    [Theory]
    [InlineData("{{phone}} {{name}}", "{{phone}} Ann")]
    [InlineData("{{name", "{{name")]
    [InlineData("}} {{}}", "}} {{}}")]
    public void UnknownAndUnclosedPlaceholdersAreKept(string text, string expected) =>
        Assert.Equal(expected, Template.RenderText(text, new Dictionary<string, string> { ["name"] = "Ann" }));

    [Fact]
    public void ValuesAreNotExpandedAgain() =>
        Assert.Equal("{{email}}", Template.RenderText("{{name}}", new Dictionary<string, string> { ["name"] = "{{email}}", ["email"] = "e" }));
}

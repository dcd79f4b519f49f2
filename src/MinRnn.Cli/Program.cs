Console.WriteLine("minrnn");
